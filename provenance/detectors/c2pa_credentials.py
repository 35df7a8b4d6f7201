"""C2PA Content Credentials, read with ``c2pa-python`` from the original uploaded bytes.

Offline only: remote manifests and OCSP are never fetched, and the SDK is told that
no network host is allowed. Trust is judged only against the PEM bundle named by
``PROVENANCE_C2PA_TRUST_ANCHORS``; without it a manifest can be "valid" (intact and
correctly signed) but never "trusted".

Status mapping:

* ``detected``: a manifest is present and validates (``Valid`` or ``Trusted``);
  the evidence says whether its signer chains to a configured anchor.
* ``invalid``: a manifest is present but fails validation (tampered bytes, broken
  signature, unreadable JUMBF); the failure codes are in the evidence.
* ``not_detected``: no manifest. Metadata strippers and re-encoders remove
  manifests, so this says nothing about how the media was made.
* ``unavailable``: the SDK is missing, cannot read this format, or the manifest is
  only referenced remotely (we do not fetch it).
"""
from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

from provenance.detectors.base import ProvenanceSignal
from provenance.media.frames import MediaSample

log = logging.getLogger(__name__)

MIME_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
}

# IPTC digital source types that declare generative AI involvement.
AI_SOURCE_TYPES = {
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
}


def short_source_type(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


class C2paDetector:
    name = "c2pa-python"
    kind = "c2pa"

    def __init__(self, trust_anchors: Path | None = None):
        self.trust_anchors = trust_anchors
        try:
            import c2pa

            self._c2pa: Any = c2pa
            self.version = f"c2pa-python {c2pa.__version__} / c2pa-rs {c2pa.sdk_version()}"
            self._import_error: str | None = None
        except Exception as exc:  # the native library may fail to load on odd platforms
            self._c2pa = None
            self.version = "unavailable"
            self._import_error = f"c2pa-python cannot be loaded: {exc}"

    # -- SDK configuration -----------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Offline verification settings; trust anchors replace the SDK's defaults."""
        config: dict[str, Any] = {
            "verify": {
                "verify_after_reading": True,
                "verify_trust": True,
                "remote_manifest_fetch": False,
                "ocsp_fetch": False,
            },
            "core": {"allowed_network_hosts": []},
        }
        if self.trust_anchors is not None:
            config["trust"] = {"trust_anchors": self.trust_anchors.read_text()}
        return config

    def _signal(self, status: str, summary: str, **evidence: Any) -> ProvenanceSignal:
        return ProvenanceSignal(
            kind=self.kind, detector=self.name, version=self.version, status=status,  # type: ignore[arg-type]
            evidence=evidence, summary=summary,
        )

    # -- detection ---------------------------------------------------------------------
    def detect(self, sample: MediaSample) -> ProvenanceSignal:
        if self._c2pa is None:
            return self._signal("unavailable", "C2PA check could not run: the SDK is not available.",
                                reason=self._import_error)
        c2pa = self._c2pa
        fmt = sample.source.format
        mime = MIME_TYPES.get(fmt)
        supported = set(c2pa.Reader.get_supported_mime_types())
        if mime is None or mime not in supported:
            return self._signal("unavailable", f"C2PA check could not run: c2pa-python cannot read {fmt} files.",
                                reason=f"format {fmt!r} ({mime}) is not supported by c2pa-python")
        if self.trust_anchors is not None and not self.trust_anchors.is_file():
            return self._signal("unavailable", "C2PA check could not run: the trust anchor bundle is missing.",
                                reason=f"PROVENANCE_C2PA_TRUST_ANCHORS={self.trust_anchors} is not a file")

        data = sample.source.read_bytes()
        try:
            with c2pa.Context.from_dict(self.settings()) as context:
                reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, context)
                if reader is None:
                    return self._signal(
                        "not_detected",
                        "No C2PA Content Credentials in the file (stripping or re-encoding removes them; "
                        "absence says nothing about how the media was made).",
                        format=fmt,
                    )
                with reader:
                    store = json.loads(reader.json())
                    remote_url = reader.get_remote_url()
                    embedded = reader.is_embedded()
        except c2pa.C2paError.NotSupported as exc:
            return self._signal("unavailable", f"C2PA check could not run on this {fmt} file.", reason=str(exc))
        except c2pa.C2paError.RemoteManifest as exc:
            return self._signal(
                "unavailable",
                "The file refers to a remote C2PA manifest, which we do not fetch (offline verification only).",
                reason=str(exc),
            )
        except c2pa.C2paError as exc:
            # A manifest store is there but cannot even be parsed: as bad as a broken signature.
            return self._signal("invalid", "A C2PA manifest is present but cannot be read or verified.",
                                error=f"{type(exc).__name__}: {exc}", format=fmt)
        return self._from_store(store, fmt, embedded, remote_url)

    def _from_store(self, store: dict[str, Any], fmt: str, embedded: bool, remote_url: str | None) -> ProvenanceSignal:
        state = store.get("validation_state") or "Unknown"
        results = store.get("validation_results") or {}
        active_results = results.get("activeManifest") or {}
        failures = [f.get("code") for f in active_results.get("failure", [])]
        failures += [
            f"ingredient:{f.get('code')}"
            for delta in results.get("ingredientDeltas", []) or []
            for f in (delta.get("validationDeltas") or {}).get("failure", [])
        ]
        manifests = store.get("manifests") or {}
        active = manifests.get(store.get("active_manifest") or "", {})
        details = describe_manifest(active)
        trusted: bool | None = state == "Trusted" if self.trust_anchors is not None else None
        evidence: dict[str, Any] = {
            "format": fmt,
            "validation_state": state,
            "trusted": trusted,
            "trust_anchors_configured": self.trust_anchors is not None,
            "failure_codes": failures,
            "manifest_count": len(manifests),
            "embedded": embedded,
            "remote_url": remote_url,
            **details,
        }
        signer = details.get("signer") or {}
        who = signer.get("common_name") or signer.get("issuer") or "an unknown signer"
        generator = details.get("claim_generator") or "unknown"
        ai = [t for t in details.get("digital_source_types", []) if short_source_type(t) in AI_SOURCE_TYPES]
        ai_note = f"; declares {', '.join(sorted({short_source_type(t) for t in ai}))}" if ai else ""
        if state == "Invalid":
            return self._signal(
                "invalid",
                f"C2PA manifest signed by {who} FAILS validation ({', '.join(failures) or 'see evidence'}): "
                "the file was altered after signing or the signature is broken.",
                **evidence,
            )
        if trusted:
            trust_note = "signer chains to a configured trust anchor"
        elif self.trust_anchors is None:
            trust_note = "signature intact; no trust anchors configured, so the signer is not vouched for"
        else:
            trust_note = "signature intact but the signer does not chain to a configured trust anchor"
        return self._signal(
            "detected",
            f"C2PA Content Credentials by {who} (claim generator {generator}): {trust_note}{ai_note}.",
            **evidence,
        )


def describe_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """Signer, claim generator, actions and digital source types of one manifest."""
    sig = manifest.get("signature_info") or {}
    infos = manifest.get("claim_generator_info") or []
    generator_names = [
        " ".join(str(x) for x in (i.get("name"), i.get("version")) if x) for i in infos if isinstance(i, dict)
    ]
    generator = manifest.get("claim_generator") or ", ".join(n for n in generator_names if n) or None
    actions: list[dict[str, Any]] = []
    source_types: list[str] = []
    for assertion in manifest.get("assertions") or []:
        label = str(assertion.get("label", ""))
        if label.startswith("c2pa.actions"):
            for action in (assertion.get("data") or {}).get("actions", []):
                agent = action.get("softwareAgent")
                if isinstance(agent, dict):
                    agent = " ".join(str(v) for v in (agent.get("name"), agent.get("version")) if v)
                entry = {
                    "action": action.get("action"),
                    "digitalSourceType": action.get("digitalSourceType"),
                    "softwareAgent": agent,
                    "when": action.get("when"),
                }
                actions.append({k: v for k, v in entry.items() if v})
                if action.get("digitalSourceType"):
                    source_types.append(action["digitalSourceType"])
        data = assertion.get("data")
        if isinstance(data, dict) and isinstance(data.get("digitalSourceType"), str):
            source_types.append(data["digitalSourceType"])
    return {
        "signer": {k: sig.get(k) for k in ("common_name", "issuer", "alg", "time", "cert_serial_number") if sig.get(k)},
        "claim_generator": generator,
        "title": manifest.get("title"),
        "actions": actions,
        "digital_source_types": sorted(set(source_types)),
    }
