"""From query fingerprints to scored works: retrieve, score frame pairs, align in time, decide."""
