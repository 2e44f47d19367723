"""The real, freely licensed photos we train and test on, all from Debian packages:
lomiri-wallpapers-16.04, lomiri-wallpapers-20.04, mate-backgrounds,
plasma-workspace-wallpapers and forensics-samples-files.

Only photographs are listed (the packages also hold abstract renders and drawings). The test
photos are never trained on; they cover a city street, a crowd-free landscape, a forest, boats,
animals and close-up texture so the held-out score is not one kind of scene.

    python3 training/photos.py DIR    # copy them flat into DIR, for a machine without the packages

The copies are made at the size training decodes them (data.decode_photo: long side 1600,
from 4-6K originals) and read back by the same function, with no ffmpeg: the training photos
as JPEG at quality 95 without chroma subsampling (no decoded copy is further than 40 dB
PSNR from its original's decode), the held-out test photos losslessly, as WebP, so that a
loan's held-out scores are the ones measured here. 30 MB in all, against 52 MB of originals:
with the checkout, within what a device loan carries (64 MiB), which the copy checks.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_BG = "/usr/share/backgrounds"
_WP = "/usr/share/wallpapers"
_FS = "/usr/share/forensics-samples/original-files"

TRAIN = [
    f"{_BG}/Bridge_by_Sander_Klootwijk.jpg",
    f"{_BG}/Dragonfly_by_Bolly.jpg",
    f"{_BG}/Picture_0B_by_freespace.jpg",
    f"{_BG}/Picture_1A_by_freespace.jpg",
    f"{_BG}/Wine_by_Jakkub_Mede.jpg",
    f"{_BG}/aitzgorri_by_Aitzol_Berasategi.jpg",
    f"{_BG}/free_by_Peter_Nerlich.jpg",
    f"{_BG}/friends_by_Aitzol_Berasategi.jpg",
    f"{_BG}/life_by_Aitzol_Berasategi.jpg",
    f"{_BG}/seeding_by_Clements_Engelhardt.jpg",
    f"{_BG}/sunset_by_Aitzol_Berasategi.jpg",
    f"{_BG}/Kleiber_by_Lukas_Baubkus.jpg",
    f"{_BG}/mate/nature/Aqua.jpg",
    f"{_BG}/mate/nature/Blinds.jpg",
    f"{_BG}/mate/nature/Dune.jpg",
    f"{_BG}/mate/nature/FreshFlower.jpg",
    f"{_BG}/mate/nature/Garden.jpg",
    f"{_BG}/mate/nature/GreenMeadow.jpg",
    f"{_BG}/mate/nature/RainDrops.jpg",
    f"{_BG}/mate/nature/Storm.jpg",
    f"{_BG}/mate/nature/TwoWings.jpg",
    f"{_BG}/mate/nature/Wood.jpg",
    f"{_BG}/mate/nature/YellowFlower.jpg",
    f"{_WP}/BytheWater/contents/images/2560x1600.jpg",
    f"{_WP}/ColdRipple/contents/images/2560x1600.jpg",
    f"{_WP}/FallenLeaf/contents/images/2560x1600.jpg",
    f"{_WP}/Grey/contents/images/2560x1600.jpg",
    f"{_WP}/Kite/contents/images/2560x1600.jpg",
    f"{_WP}/OneStandsOut/contents/images/2560x1600.jpg",
    f"{_WP}/summer_1am/contents/images/2560x1600.jpg",
    f"{_WP}/Volna/contents/images/5120x2880.jpg",
    f"{_FS}/pic1/IMG_20200827_231612.jpg",
    f"{_FS}/pic2/IMG_20191224_234846.jpg",
    f"{_FS}/pic2/IMG_20200124_231153.jpg",
]

TEST = [
    f"{_BG}/picosdeeuropa_by_Aitzol_Berasategi.jpg",
    f"{_BG}/mate/nature/LadyBird.jpg",
    f"{_WP}/EveningGlow/contents/images/2560x1600.jpg",
    f"{_WP}/Path/contents/images/2560x1600.jpg",
    f"{_FS}/pic2/IMG_20200608_111614.jpg",
    f"{_FS}/pic1/IMG_1054.JPG",
]


# What the device tool carries at most: the checkout (tracked and untracked, not ignored
# files) and the folders a run names in `carry`.
LOAN_LIMIT = 64 << 20


def copied(paths: list[str], folder: str) -> list[str]:
    """The same photos copied flat into `folder` (for a machine without the Debian packages):
    /usr/share/backgrounds/x.jpg is folder/usr_share_backgrounds_x.jpg, a test photo's copy
    is .webp."""
    names = [p.lstrip("/").replace("/", "_") for p in paths]
    return [f"{folder}/{Path(n).with_suffix('.webp') if p in TEST else n}" for p, n in zip(paths, names)]


def copy_flat(folder: str) -> None:
    """Write the training and test photos into `folder` under copied()'s names (see the module's
    docstring), each under a temporary name, then renamed."""
    from PIL import Image

    from data import decode_photo

    Path(folder).mkdir(parents=True, exist_ok=True)
    for source, target in zip(TRAIN + TEST, copied(TRAIN + TEST, folder)):
        if not Path(source).exists():
            raise SystemExit(f"{source}: missing; install lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds plasma-workspace-wallpapers forensics-samples-files")
        image = Image.fromarray(decode_photo(source).permute(1, 2, 0).numpy())
        partial = f"{target}.tmp"
        if source in TEST:
            image.save(partial, format="WEBP", lossless=True)
        else:
            image.save(partial, format="JPEG", quality=95, subsampling=0)
        os.replace(partial, target)


def loan_size(folder: str) -> tuple[int, int]:
    """Bytes of the checkout that a device loan carries (outside `folder`) and of `folder`."""
    root = Path(__file__).resolve().parent.parent
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root, capture_output=True, check=True).stdout
    inside = Path(folder).resolve()
    checkout = 0
    for name in filter(None, listed.decode().split("\0")):
        path = root / name
        if path.is_file() and inside not in path.resolve().parents:
            checkout += path.stat().st_size
    return checkout, sum(f.stat().st_size for f in Path(folder).iterdir() if f.is_file())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python3 training/photos.py DIR")
    copy_flat(sys.argv[1])
    checkout, photos = loan_size(sys.argv[1])
    mib = lambda n: f"{n / (1 << 20):.1f} MiB"  # noqa: E731
    print(f"travels: {mib(checkout + photos)} (checkout {mib(checkout)} + photos {mib(photos)}, with {sys.argv[1]} carried); the device tool takes {mib(LOAN_LIMIT)} at most")
    if checkout + photos > LOAN_LIMIT:
        raise SystemExit(f"too much for a loan by {mib(checkout + photos - LOAN_LIMIT)}: shrink the checkout (git ls-files, biggest first) or carry fewer photos")
