"""Declared, unsigned provenance: what the file's own metadata says about its origin.

Reads, from the original bytes:

* IPTC/XMP ``Iptc4xmpExt:DigitalSourceType`` (e.g. ``trainedAlgorithmicMedia``) and
  the IPTC 2023 AI fields (``AISystemUsed``, ``AIPromptInformation``, ...);
* XMP ``xmp:CreatorTool``, EXIF ``Software``/``ImageDescription``/``UserComment``;
* PNG text chunks that generators write (A1111 ``parameters``, ComfyUI ``prompt`` /
  ``workflow``, InvokeAI ``Dream``/``invokeai_metadata``, NovelAI ``Software``, ...);
* video container and stream tags (PyAV), e.g. ``encoder``, ``comment``, ``software``.

Anyone can write or strip these tags, so they are reported as "declared, unsigned":
a hint for reviewers, never proof either way.
"""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterator

from PIL import Image

from provenance.detectors.base import ProvenanceSignal
from provenance.detectors.c2pa_credentials import AI_SOURCE_TYPES, short_source_type
from provenance.media.frames import MediaSample

# Names of generators and generator front-ends, matched as words, case-insensitive.
GENERATOR_PATTERNS: dict[str, str] = {
    "Stable Diffusion": r"stable[\s_-]?diffusion|\bsdxl\b|\bsd ?(?:1\.5|2\.1|3(?:\.5)?)\b|stability ai|dreamstudio",
    "AUTOMATIC1111 / Forge": r"automatic1111|stable-diffusion-webui|\bforge\b.*\bwebui\b",
    "ComfyUI": r"comfy ?ui",
    "InvokeAI": r"invoke ?ai",
    "NovelAI": r"novel ?ai",
    "DALL-E": r"dall[\s·.\-]?e",
    "Midjourney": r"midjourney",
    "OpenAI": r"\bopenai\b|chatgpt|gpt-?4o|gpt-image",
    "Sora": r"\bsora\b",
    "Veo": r"\bveo ?[23]?\b",
    "Imagen / Gemini": r"\bimagen ?[234]?\b|\bgemini\b|google ai|synthid",
    "Adobe Firefly": r"\bfirefly\b",
    "Runway": r"\brunway(?:ml)?\b|\bgen-?[234]\b",
    "Pika": r"\bpika(?:labs)?\b",
    "Kling": r"\bkling\b",
    "Luma Dream Machine": r"dream ?machine|luma ?ai",
    "Hailuo / MiniMax": r"\bhailuo\b|\bminimax\b",
    "FLUX": r"\bflux(?:\.1)?\b",
    "Leonardo": r"leonardo\.?ai",
    "Ideogram": r"\bideogram\b",
    "Generic AI label": r"\bai[\s-]generated\b|\bgenerated (?:by|with) ai\b|\bmade with ai\b|\baigc\b",
}
_COMPILED = {name: re.compile(p, re.IGNORECASE) for name, p in GENERATOR_PATTERNS.items()}

# Tags whose value names the producing software (or carries generation parameters).
GENERATOR_KEYS = {
    "software", "creatortool", "encoder", "encoded_by", "comment", "description", "imagedescription",
    "usercomment", "parameters", "prompt", "workflow", "dream", "sd-metadata", "invokeai_metadata",
    "invokeai_graph", "generation_data", "make", "model", "artist", "author", "credit", "source",
    "aisystemused", "aisystemversionused", "aipromptinformation", "aipromptwritername", "aigc",
    "com.apple.quicktime.software", "com.apple.quicktime.description", "com.apple.quicktime.comment",
    "tool", "producer", "generator",
}
# Keys whose mere presence is a generator's signature (PNG text chunks of SD front-ends).
SIGNATURE_KEYS = {
    "parameters": "AUTOMATIC1111-style generation parameters",
    "workflow": "ComfyUI workflow",
    "prompt": "ComfyUI prompt graph",
    "dream": "InvokeAI dream command",
    "sd-metadata": "InvokeAI metadata",
    "invokeai_metadata": "InvokeAI metadata",
    "invokeai_graph": "InvokeAI graph",
    "aisystemused": "IPTC AI system used",
    "aigc": "AIGC label",
}
EXIF_TAGS = {0x0131: "Software", 0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model",
             0x013B: "Artist", 0x8298: "Copyright"}
EXIF_IFD_TAGS = {0x9286: "UserComment"}
XMP_FIELDS = {"digitalsourcetype", "creatortool", "software", "aisystemused", "aisystemversionused",
              "aipromptinformation", "aipromptwritername", "credit", "description", "source"}
MAX_VALUE = 300  # characters kept per value in the evidence


def _clip(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "…"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        # EXIF UserComment starts with an 8-byte charset marker
        if value[:8] in (b"ASCII\x00\x00\x00", b"UNICODE\x00", b"\x00" * 8):
            body = value[8:]
            return body.decode("utf-16" if value.startswith(b"UNICODE") else "latin-1", "replace").strip("\x00 ")
        return value.decode("utf-8", "replace").strip("\x00 ")
    return str(value)


# -- readers: each yields (where, key, value) -------------------------------------------
def xmp_packets(data: bytes, limit: int = 8) -> list[str]:
    packets, start = [], 0
    while len(packets) < limit:
        i = data.find(b"<x:xmpmeta", start)
        if i < 0:
            break
        j = data.find(b"</x:xmpmeta>", i)
        if j < 0:
            break
        packets.append(data[i : j + len(b"</x:xmpmeta>")].decode("utf-8", "replace"))
        start = j
    return packets


def read_xmp(data: bytes) -> Iterator[tuple[str, str, str]]:
    for packet in xmp_packets(data):
        try:
            root = ET.fromstring(packet)
        except ET.ParseError:
            for uri in re.findall(r"digitalsourcetype/(\w+)", packet, re.IGNORECASE):
                yield "xmp", "DigitalSourceType", uri
            continue
        for element in root.iter():
            for attr, value in element.attrib.items():
                local = attr.rsplit("}", 1)[-1]
                if local.lower() in XMP_FIELDS:
                    yield "xmp", local, value
            local = element.tag.rsplit("}", 1)[-1]
            if local.lower() in XMP_FIELDS:
                # a value is either text or an rdf:Alt/Seq of rdf:li
                texts = [t.strip() for t in element.itertext() if t.strip()]
                if texts:
                    yield "xmp", local, " | ".join(texts)
                resource = next((v for k, v in element.attrib.items() if k.endswith("resource")), None)
                if resource:
                    yield "xmp", local, resource


def read_image_tags(data: bytes) -> Iterator[tuple[str, str, str]]:
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = (im.format or "image").lower()
            for key, value in (im.info or {}).items():
                if isinstance(value, (str, bytes)) and key not in ("icc_profile", "exif", "xmp", "XML:com.adobe.xmp"):
                    yield f"{fmt} text", str(key), _text(value)
            exif = im.getexif()
            for tag, name in EXIF_TAGS.items():
                if tag in exif:
                    yield "exif", name, _text(exif[tag])
            ifd = exif.get_ifd(0x8769)
            for tag, name in EXIF_IFD_TAGS.items():
                if tag in ifd:
                    yield "exif", name, _text(ifd[tag])
    except Exception:
        return


def read_video_tags(sample: MediaSample) -> Iterator[tuple[str, str, str]]:
    import av

    try:
        with av.open(str(sample.source.path)) as container:
            for key, value in (container.metadata or {}).items():
                yield "container", key, str(value)
            for stream in container.streams:
                for key, value in (stream.metadata or {}).items():
                    yield f"stream {stream.index} ({stream.type})", key, str(value)
    except Exception:
        return


# -- classification -------------------------------------------------------------------
def classify(where: str, key: str, value: str) -> dict[str, Any] | None:
    """A finding for one tag, or None when it says nothing about origin."""
    lkey = key.lower().split(":")[-1]
    if lkey == "digitalsourcetype" or "digitalsourcetype/" in value.lower():
        short = short_source_type(value)
        return {"where": where, "key": key, "value": _clip(value), "marker": f"DigitalSourceType {short}",
                "declares_ai": short in AI_SOURCE_TYPES}
    if lkey in SIGNATURE_KEYS and value.strip():
        if lkey == "parameters" and not re.search(r"\b(steps|sampler|seed|cfg scale)\s*:", value, re.IGNORECASE):
            pass  # a "parameters" chunk that is not generation parameters: check its words below
        elif lkey == "prompt" and not value.lstrip().startswith("{"):
            pass
        else:
            return {"where": where, "key": key, "value": _clip(value), "marker": SIGNATURE_KEYS[lkey],
                    "declares_ai": True}
    if lkey in GENERATOR_KEYS:
        names = [name for name, rx in _COMPILED.items() if rx.search(value)]
        if names:
            return {"where": where, "key": key, "value": _clip(value), "marker": ", ".join(names),
                    "declares_ai": True}
    return None


class DeclaredMetadataDetector:
    name = "declared-metadata"
    kind = "declared_metadata"
    version = "1"

    def detect(self, sample: MediaSample) -> ProvenanceSignal:
        try:
            data = sample.source.read_bytes()
        except OSError as exc:
            return ProvenanceSignal(self.kind, self.name, self.version, "unavailable",
                                    {"reason": f"cannot read the original bytes: {exc}"},
                                    summary="Declared metadata could not be read.")
        tags: list[tuple[str, str, str]] = list(read_xmp(data))
        tags += read_image_tags(data) if sample.kind == "image" else read_video_tags(sample)
        tags += [("intake", k, str(v)) for k, v in (sample.metadata or {}).items()]

        findings, seen = [], set()
        for where, key, value in tags:
            found = classify(where, key, value)
            if found and (found["key"].lower(), found["value"]) not in seen:
                seen.add((found["key"].lower(), found["value"]))
                findings.append(found)
        evidence = {"trust": "declared, unsigned", "findings": findings, "tags_read": len(tags)}
        if not findings:
            return ProvenanceSignal(
                self.kind, self.name, self.version, "not_detected", evidence,
                summary="No generator or digital-source-type declared in the metadata "
                        "(metadata is easily stripped: absence is not evidence of human authorship).",
            )
        ai = [f for f in findings if f["declares_ai"]]
        markers = ", ".join(dict.fromkeys(f["marker"] for f in (ai or findings)))
        lead = "Declares AI generation" if ai else "Declares its source"
        return ProvenanceSignal(
            self.kind, self.name, self.version, "detected", evidence,
            summary=f"{lead} in unsigned metadata ({markers}); declared, unsigned: anyone can write or remove it.",
        )
