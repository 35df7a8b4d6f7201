"""Helpers for the provenance detector tests: certificates, signing, logos, media.

Nothing here touches the network: the C2PA certificate chain is generated per test
session with ``cryptography``, and media come from ``../shared/media`` (tests that
need it skip, saying why, when it is absent).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from provenance.detectors.calibration import sample_from_file
from provenance.media.frames import Frame, MediaSample, MediaSource

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"


def require_media() -> Path:
    if not (MEDIA / "works" / "videos").is_dir():
        pytest.skip(f"shared media not found at {MEDIA} (expected ../shared/media beside the repo)")
    return MEDIA


# -- certificates ----------------------------------------------------------------------
@dataclass(frozen=True)
class CertChain:
    root_pem: bytes  # the trust anchor
    chain_pem: bytes  # leaf + intermediate, what the signer embeds
    key_pem: bytes  # the leaf's private key (PKCS#8)


def make_cert_chain(common_name: str = "Provenance Test Signer") -> CertChain:
    """Root CA -> intermediate CA -> ES256 leaf with the extensions C2PA validators require:
    v3, basic constraints, key usage digitalSignature, an allowed EKU (emailProtection),
    subject/authority key identifiers."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Provenance Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ])

    def cert(subject: str, key: Any, issuer: str, issuer_key: Any, ca: bool, pathlen: int | None) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject)).issuer_name(name(issuer))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False), critical=True)
        )
        if not ca:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    root_key, inter_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = cert("Provenance Test Root CA", root_key, "Provenance Test Root CA", root_key, True, 1)
    inter = cert("Provenance Test Intermediate CA", inter_key, "Provenance Test Root CA", root_key, True, 0)
    leaf = cert(common_name, leaf_key, "Provenance Test Intermediate CA", inter_key, False, None)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    return CertChain(
        root_pem=pem(root),
        chain_pem=pem(leaf) + pem(inter),
        key_pem=leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()),
    )


AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def sign_c2pa(data: bytes, mime: str, chain: CertChain, generator: str = "Provenance Test Generator") -> bytes:
    """Embed a signed C2PA manifest (a c2pa.created action from a trained model)."""
    import c2pa

    manifest = {
        "claim_generator_info": [{"name": generator, "version": "1.0"}],
        "title": "generated clip",
        "assertions": [{
            "label": "c2pa.actions",
            "data": {"actions": [{
                "action": "c2pa.created",
                "digitalSourceType": AI_SOURCE,
                "softwareAgent": {"name": generator, "version": "1.0"},
            }]},
        }],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain.chain_pem, chain.key_pem, None))
    context = c2pa.Context.from_dict({
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
    })
    out = io.BytesIO()
    with context, signer, c2pa.Builder(manifest, context=context) as builder:
        builder.sign(signer, mime, io.BytesIO(data), out)
    return out.getvalue()


# -- media -----------------------------------------------------------------------------
def textured_rgb(width: int = 640, height: int = 480, seed: int = 0) -> np.ndarray:
    """A smooth, photo-like synthetic image (gradients plus blobs), deterministic."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, 3), np.float32)
    for c in range(3):
        img[..., c] = 128 + 60 * np.sin(x / (40 + 13 * c) + rng.uniform(0, 6)) * np.cos(y / (55 + 7 * c))
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def jpeg_bytes(rgb: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def mp4_bytes(frames: list[np.ndarray], fps: int = 12, crf: int = 20) -> bytes:
    buf = io.BytesIO()
    h, w = frames[0].shape[:2]
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": str(crf)})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def sample_of(path: Path, **kwargs: Any) -> MediaSample:
    return sample_from_file(path, **kwargs)


def frames_sample(frames: list[np.ndarray], fps: float = 24.0, kind: str = "video") -> MediaSample:
    """A sample made of in-memory frames (no file behind it: detectors that need bytes
    must not be given it)."""
    digest = hashlib.sha256(b"".join(f[:4, :4].tobytes() for f in frames)).hexdigest()
    source = MediaSource(Path("/nonexistent/in-memory"), 0, digest, "mp4" if kind == "video" else "png", kind)  # type: ignore[arg-type]
    fr = [Frame(i, i / fps, f, "rate") for i, f in enumerate(frames)]
    h, w = frames[0].shape[:2]
    return MediaSample(source, fr, w, h, len(frames) / fps, fps=fps, decoded_frames=len(frames))


# -- logos -----------------------------------------------------------------------------
def make_logo_png(text: str = "ACME", width: int = 260, height: int = 96, outline: bool = True) -> bytes:
    """A white emblem + word mark with a dark outline on a transparent background, like
    the stock-photo and channel logos platforms overlay."""
    im = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    stroke = (20, 20, 20, 255) if outline else None
    draw.ellipse((6, 6, height - 6, height - 6), outline=(255, 255, 255, 255), width=9)
    draw.polygon([(height // 2, 22), (height - 24, height - 26), (24, height - 26)], fill=(255, 255, 255, 255),
                 outline=stroke)
    font = ImageFont.load_default(size=48)
    draw.text((height + 8, 18), text, fill=(255, 255, 255, 255), font=font,
              stroke_width=3 if outline else 0, stroke_fill=stroke)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def overlay_logo(rgb: np.ndarray, png: bytes, x: int, y: int, width: int, opacity: float) -> np.ndarray:
    """Alpha-blend the logo at (x, y), scaled to ``width``, at ``opacity``."""
    import cv2

    logo = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(np.float32)
    height = round(width * logo.shape[0] / logo.shape[1])
    logo = cv2.resize(logo, (width, height), interpolation=cv2.INTER_AREA)
    out = rgb.astype(np.float32).copy()
    h = min(height, out.shape[0] - y)
    w = min(width, out.shape[1] - x)
    a = logo[:h, :w, 3:] / 255.0 * opacity
    out[y : y + h, x : x + w] = a * logo[:h, :w, :3] + (1 - a) * out[y : y + h, x : x + w]
    return np.clip(out, 0, 255).astype(np.uint8)


@dataclass
class Logo:
    """Duck-typed like ``reference_db.models.LogoTemplate`` for the detector."""

    name: str
    png: bytes
