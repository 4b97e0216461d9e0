"""Set up HingeLab in ./.venv and run the demo or the tests: ``python3 run.py demo|test``.

Works on a fresh Debian/Ubuntu machine that has only Python 3.10-3.12: it installs the
Debian packages it needs when it can (root or password-less sudo), creates or reuses
``.venv``, installs the package with its ``dev`` extra, then runs the command. Running it
again reuses everything that is already in place.

This file uses only the standard library and old syntax on purpose, so that any Python
can at least read it and say what is wrong.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
SUPPORTED = ((3, 10), (3, 11), (3, 12))
# Debian packages: libgl1/libglib2.0-0 for OpenCV and MediaPipe; the rest for Qt's xcb
# platform and an OpenGL context under Xvfb with Mesa (the viewer and its tests).
DEBIAN_PACKAGES = (
    "libgl1",
    "libglib2.0-0",
    "xvfb",
    "xauth",
    "libgl1-mesa-dri",
    "libegl1",
    "libxkbcommon-x11-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-shape0",
    "libxcb-xinerama0",
    "libfontconfig1",
    "libdbus-1-3",
)
USAGE = "usage: python3 run.py demo [mocap demo options] | test [pytest options]"


def say(message):
    """Print one line of progress, marked as coming from this script."""
    print("[run.py] " + message, flush=True)


def find_supported_python():
    """Return a command for a supported Python: this one, or python3.12/3.11/3.10 on PATH."""
    if sys.version_info[:2] in SUPPORTED:
        return sys.executable
    for minor in (12, 11, 10):
        found = shutil.which("python3.%d" % minor)
        if found:
            return found
    version = "%d.%d" % sys.version_info[:2]
    sys.exit(
        "HingeLab needs Python 3.10, 3.11 or 3.12; this is Python %s and no python3.12, "
        "python3.11 or python3.10 is on PATH.\nmediapipe 0.10.21, the last release that "
        "ships the BlazePose model, has no wheels for other versions.\nInstall one (for "
        "example 'apt-get install python3.12-venv' or 'uv python install 3.12') and run: "
        "python3.12 run.py %s" % (version, " ".join(sys.argv[1:]))
    )


def missing_debian_packages(python):
    """Debian packages (ours, plus the venv module for ``python``) not yet installed."""
    if not shutil.which("dpkg-query"):
        return []
    wanted = list(DEBIAN_PACKAGES)
    has_venv = subprocess.call([python, "-c", "import ensurepip, venv"], stderr=subprocess.DEVNULL)
    if has_venv != 0:
        minor = subprocess.check_output(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], text=True
        ).strip()
        wanted.append("python%s-venv" % minor)
    missing = []
    for name in wanted:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in status.stdout:
            missing.append(name)
    return missing


def install_debian_packages(python):
    """Install missing Debian packages with apt-get, or print the exact line to run."""
    missing = missing_debian_packages(python)
    if not missing:
        return
    line = "apt-get install -y --no-install-recommends " + " ".join(missing)
    if os.geteuid() == 0:
        prefix = []
    elif shutil.which("sudo") and subprocess.call(["sudo", "-n", "true"]) == 0:
        prefix = ["sudo", "-n"]
    else:
        say("cannot install system packages (not root, no password-less sudo). Please run:")
        print("    sudo apt-get update && sudo " + line, flush=True)
        return
    say("installing Debian packages: " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for step in (["apt-get", "update"], line.split()):
        done = subprocess.run(prefix + step, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(done.stdout + done.stderr + "\nrun.py: '%s' failed" % " ".join(step))


def venv_python():
    """Path of the virtual environment's interpreter."""
    return VENV / "bin" / "python"


def venv_is_usable():
    """True when ``.venv`` exists and runs a supported Python."""
    python = venv_python()
    if not python.exists():
        return False
    check = "import sys; sys.exit(0 if sys.version_info[:2] in %r else 1)" % (SUPPORTED,)
    return subprocess.call([str(python), "-c", check], stderr=subprocess.DEVNULL) == 0


def ensure_venv(python):
    """Create ``.venv`` with ``python`` unless a usable one is there already."""
    if venv_is_usable():
        return
    if VENV.exists():
        say("recreating .venv (the one there does not run a supported Python)")
        shutil.rmtree(VENV)
    say("creating .venv with " + python)
    subprocess.check_call([python, "-m", "venv", str(VENV)])


def install_package():
    """``pip install -e .[dev]`` unless pyproject.toml is unchanged since the last install."""
    stamp = VENV / ".hingelab-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installing HingeLab and its dependencies into .venv (first time: a few minutes)")
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check"]
    subprocess.check_call(pip + ["install", "-q", "--upgrade", "pip"])
    subprocess.check_call(pip + ["install", "-q", "-e", str(ROOT) + "[dev]"])
    stamp.write_text(digest)


def main():
    """Set everything up, then run the demo or the tests with the remaining arguments."""
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        sys.exit(USAGE)
    python = find_supported_python()
    install_debian_packages(python)
    ensure_venv(python)
    install_package()
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "demo":
        args = [str(venv_python()), "-m", "mocap", "demo"] + rest
    else:
        args = [str(venv_python()), "-m", "pytest"] + rest
    os.chdir(str(ROOT))
    sys.exit(subprocess.call(args))


if __name__ == "__main__":
    main()
