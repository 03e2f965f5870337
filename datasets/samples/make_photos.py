"""make_photos.py - the bundled photographs under datasets/samples/photos/: natural
images shipped inside the scikit-image wheel (skimage/data), each public domain or
CC0 as skimage's own docstrings state (see SOURCE.md), resized so the longer side is
256 px (Lanczos) and saved as JPEG quality 88. The subfolder is the class label that
attnviz gives an image folder's items.

    /work/main/.deps/venv/bin/python datasets/samples/make_photos.py
"""
import os

import skimage
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(skimage.__file__), "data")
# (file in skimage/data, label folder, output name)
PHOTOS = [
    ("astronaut.png", "space", "astronaut"),     # NASA, public domain
    ("rocket.jpg", "space", "rocket"),           # SpaceX, public domain
    ("hubble_deep_field.jpg", "space", "hubble_deep_field"),  # NASA, public domain
    ("chelsea.png", "animal", "chelsea_cat"),    # CC0, Stefan van der Walt
    ("coffee.png", "food", "coffee"),            # CC0, Rachel Michetti
    ("camera.png", "street", "cameraman"),       # CC0, Lav Varshney (greyscale)
    ("grass.png", "texture", "grass"),           # CC0, CC0Textures (greyscale)
]


def main():
    for src, label, name in PHOTOS:
        img = Image.open(os.path.join(DATA, src))
        img = img.convert("L" if img.mode in ("L", "I", "I;16", "LA") else "RGB")
        scale = 256 / max(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        os.makedirs(os.path.join(HERE, "photos", label), exist_ok=True)
        out = os.path.join(HERE, "photos", label, name + ".jpg")
        img.save(out, quality=88, optimize=True)
        print(f"{out}: {img.size[0]}x{img.size[1]} {img.mode}, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
