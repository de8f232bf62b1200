"""Retake the README screenshot: the rep's day page of the sample region, at phone size.

Runs ``routeplanner demo`` on a throw-away SQLite database and a free port, logs in through the
real form with Debian's Chromium driven by Playwright, saves ``docs/images/day-page.png`` and
reduces it to a small palette PNG with Pillow. From the repository root::

    .venv/bin/python docs/screenshot.py            # about a minute (the demo plans first)
    .venv/bin/python docs/screenshot.py --page /territories --out docs/images/territories.png
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
START_TIMEOUT_S = 600.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(url: str, demo: subprocess.Popen[bytes]) -> None:
    """Poll the health endpoint until the demo (which imports and plans first) answers."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            msg = f"routeplanner demo exited with code {demo.returncode} before serving"
            raise SystemExit(msg)
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    msg = f"routeplanner demo did not serve {url} within {START_TIMEOUT_S:.0f} s"
    raise SystemExit(msg)


def _capture(url: str, password: str, page_path: str) -> bytes:
    """Log in as the demo manager and photograph ``page_path`` in a phone-sized viewport."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} is missing: apt-get install chromium (or make system-deps)"
        raise SystemExit(msg)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport=PHONE, has_touch=True, device_scale_factor=1)
        page = context.new_page()
        page.goto(f"{url}/login")
        page.fill('input[name="username"]', "manager")
        page.fill('input[name="password"]', password)
        page.click('button[type="submit"]')
        page.wait_for_url(lambda address: "/login" not in address)
        page.goto(f"{url}{page_path}")
        page.wait_for_load_state("networkidle")
        image = page.screenshot(full_page=False)
        browser.close()
    return image


def _small_png(image: bytes, colours: int) -> bytes:
    """The screenshot as a palette PNG: text and flat colours survive, the file shrinks ~4x."""
    from PIL import Image

    with Image.open(io.BytesIO(image)) as shot:
        palette = shot.convert("RGB").quantize(colors=colours, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default="/route?rep=R1", help="path to photograph")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "day-page.png")
    parser.add_argument("--colours", type=int, default=64, help="palette size of the PNG")
    parser.add_argument("--time-limit", default="2", help="demo search seconds per territory")
    args = parser.parse_args()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="rp-screenshot-") as scratch:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{Path(scratch) / 'demo.sqlite'}",
            "RP_DEMO_PASSWORD": password,
        }
        command = [sys.executable, "-m", "routeplanner", "demo", "--port", str(port)]
        command += ["--weeks", "1", "--time-limit", args.time_limit]
        demo = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
        try:
            _wait_until_serving(url, demo)
            image = _capture(url, password, args.page)
        finally:
            demo.terminate()
            demo.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(_small_png(image, args.colours))
    sys.stdout.write(f"{args.out.relative_to(REPO)}: {args.out.stat().st_size:,} bytes\n")


if __name__ == "__main__":
    main()
