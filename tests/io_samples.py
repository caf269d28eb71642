"""Small input files for the io tests: PNG/TIFF images, NIfTI volumes and DICOM series."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
import tifffile
from PIL import Image


def disc_mask(h: int, w: int, centre=(10, 12), radius=5) -> np.ndarray:
    """uint8 0/1 disc."""
    yy, xx = np.mgrid[:h, :w]
    return (((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) <= radius**2).astype(np.uint8)


def gray(h: int = 24, w: int = 32, seed: int = 0, dtype=np.uint8) -> np.ndarray:
    """A random gray image."""
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top, size=(h, w), endpoint=True).astype(dtype)


def save_png(path: Path, arr: np.ndarray) -> Path:
    """Write an array with Pillow (mode from dtype and shape)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def save_tiff(path: Path, arr: np.ndarray, **kwargs) -> Path:
    """Write an array with tifffile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, arr, **kwargs)
    return path


def save_nifti(path: Path, volume_xyz: np.ndarray, affine=None) -> Path:
    """Write a NIfTI file from an array in nibabel's (x, y, z) order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(volume_xyz, np.eye(4) if affine is None else affine), path)
    return path


def save_dicom(path: Path, pixels: np.ndarray, instance: int, z: float, patient="PAT1") -> Path:
    """A minimal valid single-frame CT DICOM file with file meta, position and instance number."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.PatientID = patient
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 0
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [0.0, 0.0, float(z)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelData = np.ascontiguousarray(pixels.astype(np.uint16)).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def dicom_series(folder: Path, volume: np.ndarray) -> Path:
    """Write a (Z, H, W) volume as a series whose file names do not follow slice order."""
    n = len(volume)
    for z in range(n):
        # file names in reverse order, positions increasing with z
        save_dicom(folder / f"file{n - z:03d}.dcm", volume[z], instance=z + 1, z=2.5 * z)
    return folder


def png_with_size(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` (with a valid CRC) over tiny data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
    data += struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    idat = b"IDAT" + zlib.compress(b"\x00" * 10)
    data += struct.pack(">I", len(idat) - 4) + idat + struct.pack(">I", zlib.crc32(idat))
    iend = b"IEND"
    data += struct.pack(">I", 0) + iend + struct.pack(">I", zlib.crc32(iend))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
