"""Scan results: the JSON contract (``schema``) and the HTML report for people (``html``)."""
