"""Declared, unsigned metadata: IPTC/XMP DigitalSourceType and generator markers."""
from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from provenance.detectors.declared_metadata import DeclaredMetadataDetector, classify
from tests.detector_fixtures import mp4_bytes, sample_of, textured_rgb, write

XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia" '
    b'xmp:CreatorTool="Midjourney v6"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def image(fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(textured_rgb(96, 64)).save(buf, fmt, **save)
    return buf.getvalue()


def detect(tmp_path, name: str, data: bytes):
    return DeclaredMetadataDetector().detect(sample_of(write(tmp_path, name, data)))


def test_xmp_digital_source_type_in_jpeg(tmp_path) -> None:
    signal = detect(tmp_path, "x.jpg", image("JPEG", xmp=XMP))
    assert signal.status == "detected"
    markers = {f["marker"] for f in signal.evidence["findings"]}
    assert "DigitalSourceType trainedAlgorithmicMedia" in markers
    assert "Midjourney" in markers
    assert signal.evidence["trust"] == "declared, unsigned"
    assert "unsigned" in signal.summary


def test_a1111_parameters_png_chunk(tmp_path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a lighthouse\nSteps: 30, Sampler: DPM++ 2M, CFG scale: 7, Seed: 42, Model: sdxl")
    signal = detect(tmp_path, "p.png", image("PNG", pnginfo=info))
    assert signal.status == "detected"
    assert signal.evidence["findings"][0]["key"] == "parameters"


def test_comfyui_prompt_chunk(tmp_path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", '{"3": {"class_type": "KSampler", "inputs": {"seed": 1}}}')
    assert detect(tmp_path, "c.png", image("PNG", pnginfo=info)).status == "detected"


def test_exif_software_in_webp(tmp_path) -> None:
    exif = Image.Exif()
    exif[0x0131] = "DALL-E 3"
    signal = detect(tmp_path, "e.webp", image("WEBP", exif=exif))
    assert signal.status == "detected" and signal.evidence["findings"][0]["marker"] == "DALL-E"


def test_video_container_tags(tmp_path) -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        container.metadata["comment"] = "Generated with Veo 3"
        stream = container.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    signal = detect(tmp_path, "v.mp4", buf.getvalue())
    assert signal.status == "detected"
    assert signal.evidence["findings"][0]["where"] == "container"
    assert "Veo" in signal.evidence["findings"][0]["marker"]


def test_plain_files_are_not_detected(tmp_path) -> None:
    for name, data in [("plain.jpg", image("JPEG")), ("plain.png", image("PNG")),
                       ("plain.mp4", mp4_bytes([textured_rgb(64, 64, seed=i) for i in range(3)]))]:
        signal = detect(tmp_path, name, data)
        assert signal.status == "not_detected", (name, signal.evidence)
        assert "not evidence of human authorship" in signal.summary


def test_declared_capture_is_reported_but_not_as_ai() -> None:
    found = classify("xmp", "DigitalSourceType", "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture")
    assert found is not None and found["declares_ai"] is False


@pytest.mark.parametrize("key,value", [
    ("encoder", "Lavf59.27.100"), ("Software", "Adobe Photoshop 25.0"), ("Model", "Canon EOS R5"),
    ("parameters", "quality=high"), ("title", "Sora the dog"),
])
def test_ordinary_tags_are_not_markers(key, value) -> None:
    assert classify("container", key, value) is None
