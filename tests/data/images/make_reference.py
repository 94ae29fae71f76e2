#!/usr/bin/python3
"""Makes the pictures in this folder and the pixel values Hugging Face's image processors give
for them, computed the way transformers' ViTImageProcessor / DeiTImageProcessor do it with PIL
(Pillow 9.4, Debian 12: python3-pil, python3-numpy; ImageMagick for the JPEGs):

    Image.open(f).convert("RGB")   ("L" after that for one-channel models)
    -> PIL resize (reducing_gap=None) -> centre crop (top = (h - ch) // 2) ->
    float64 * rescale_factor -> float32 -> (x - mean) / std in float32 -> [C, H, W]

Writes pil_reference.safetensors (one F32 tensor per "picture/processor") and cases.json (the
processors as preprocessor_config.json objects, and which pictures each applies to).
Run from this folder: /usr/bin/python3 make_reference.py
"""
import json, struct, subprocess
import numpy as np
from PIL import Image

rng = np.random.default_rng(20261128)

def save(name, array, mode=None):
    Image.fromarray(array, mode).save(name)

# Single-pixel detail on a 50 x 37 picture (the case the issue reports), high contrast.
detail = np.zeros((37, 50, 3), np.uint8)
detail[::2, ::3] = 255
detail[rng.random((37, 50)) < 0.1] = [255, 0, 40]
save("detail-50x37.png", detail)
save("noise-64x48.png", rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
yy, xx = np.mgrid[0:301, 0:23]
tall = np.stack([xx * 11, yy * 255 // 300, (xx * yy) % 256], -1).astype(np.uint8)
tall[rng.random((301, 23)) < 0.05] = 0
save("tall-23x301.png", tall)
save("wide-301x23.png", np.ascontiguousarray(tall.transpose(1, 0, 2)[:, :, ::-1]))
save("tiny-5x3.png", rng.integers(0, 256, (3, 5, 3), dtype=np.uint8))  # upsampled
save("one-pixel-1x1.png", np.array([[[200, 30, 90]]], np.uint8))
rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
rgba[:5, :, 3] = 0  # fully transparent rows keep their stored colours in PIL
save("alpha-30x20.png", rgba, "RGBA")
save("grey-40x30.png", rng.integers(0, 256, (30, 40), dtype=np.uint8), "L")
Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).quantize(16).save("palette-40x30.png")
# 16-bit RGB PNG: PIL keeps each channel's high byte.
subprocess.run(["convert", "-size", "45x35", "gradient:#102030-#f0e0d0", "-depth", "16",
                "PNG48:rgb16-45x35.png"], check=True)
# A photograph-like JPEG (fractal plasma, seeded), and a large one, both chroma-subsampled.
subprocess.run(["convert", "-seed", "7", "-size", "640x480", "plasma:fractal", "-blur", "0x1",
                "-quality", "85", "photo-640x480.jpg"], check=True)
subprocess.run(["convert", "-seed", "8", "-size", "1800x1200", "plasma:fractal", "-blur", "0x6",
                "-quality", "60", "large-1800x1200.jpg"], check=True)
# Loaded, not compared (PIL differs here on purpose or by its own quirks): a CMYK JPEG (Qt
# converts through its own CMYK formula) and a 16-bit greyscale PNG (PIL clips it to 255).
subprocess.run(["convert", "-size", "40x30", "gradient:cyan-magenta", "-colorspace", "CMYK",
                "cmyk-40x30.jpg"], check=True)
subprocess.run(["convert", "-size", "40x30", "gradient:black-white", "-depth", "16",
                "-colorspace", "Gray", "grey16-40x30.png"], check=True)
# Animated GIF: the first frame counts.
frames = [Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).quantize(32)
          for _ in range(3)]
frames[0].save("animated-32x24.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)

processors = {
    # the ViT fixture's processor
    "vit32": {"do_resize": True, "size": {"height": 32, "width": 32}, "resample": 2,
              "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
              "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
    # DeiT's processor shape (bicubic, resize then centre crop), scaled down, ImageNet statistics
    "deit": {"do_resize": True, "size": {"height": 40, "width": 44}, "resample": 3,
             "do_center_crop": True, "crop_size": {"height": 32, "width": 32},
             "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
             "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]},
    # default-vision's: greyscale 28 x 28
    "grey28": {"do_resize": True, "size": {"height": 28, "width": 28}, "resample": 2,
               "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
               "image_mean": [0.286], "image_std": [0.353], "channels": 1},
    "lanczos24": {"do_resize": True, "size": {"height": 24, "width": 24}, "resample": 1,
                  "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                  "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 0.75]},
}
pictures = ["detail-50x37.png", "noise-64x48.png", "tall-23x301.png", "wide-301x23.png",
            "tiny-5x3.png", "one-pixel-1x1.png", "alpha-30x20.png", "grey-40x30.png",
            "palette-40x30.png", "rgb16-45x35.png", "photo-640x480.jpg", "large-1800x1200.jpg",
            "animated-32x24.gif"]

def process(path, p):
    image = Image.open(path).convert("RGB")
    if p.get("channels", 3) == 1:
        image = image.convert("L")
    size = (p["size"]["width"], p["size"]["height"])
    if image.size != size:
        image = image.resize(size, resample=p["resample"], reducing_gap=None)
    a = np.array(image)
    if p.get("do_center_crop"):
        ch, cw = p["crop_size"]["height"], p["crop_size"]["width"]
        top, left = (a.shape[0] - ch) // 2, (a.shape[1] - cw) // 2
        a = a[top:top + ch, left:left + cw]
    if a.ndim == 2:
        a = a[:, :, None]
    x = (a.astype(np.float64) * p["rescale_factor"]).astype(np.float32)
    x = (x - np.array(p["image_mean"], np.float32)) / np.array(p["image_std"], np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1), np.float32)

# Every picture through the ViT and greyscale processors; the other filters on a few.
every = ["vit32", "grey28"]
few = ["detail-50x37.png", "noise-64x48.png", "tall-23x301.png", "photo-640x480.jpg",
       "large-1800x1200.jpg"]
cases = {pic: every + (["deit", "lanczos24"] if pic in few else []) for pic in pictures}
tensors = {f"{pic}/{name}": process(pic, processors[name]) for pic in pictures for name in cases[pic]}
header, offset, blobs = {}, 0, []
for key, t in tensors.items():
    b = t.tobytes()
    header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
    offset += len(b)
    blobs.append(b)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open("pil_reference.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
with open("cases.json", "w") as f:
    json.dump({"cases": cases, "processors": processors}, f, indent=1)
