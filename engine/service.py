"""``vernissage service unit|install``: a systemd unit that starts the show at boot and brings it back.

The unit runs ``vernissage play`` as ``Type=notify``: systemd knows the show is up when its
first frame is shown, and restarts it when the watchdog pings stop (a hung GPU, a stuck
generator) or the process exits, two seconds later, forever. A system unit escalates: five
failed starts within ten minutes reboot the machine, because a GPU that fell off the bus
needs a reboot, not another restart. A user unit cannot reboot, so it retries for ever.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import pwd
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WATCHDOG_SECONDS = 10
SYSTEM_UNITS = Path("/etc/systemd/system")


@dataclass(frozen=True)
class Unit:
    """What the unit says: the show, the play options, and how the service runs."""

    show: Path
    play_args: tuple[str, ...] = ()
    user: bool = False  # a user unit (~/.config/systemd/user) instead of a system one
    account: str = ""  # the system unit's User= (default: see service_account)
    display: str = ":0"  # X display of the fullscreen window (ignored with --headless)
    xauthority: Path | None = None

    @property
    def name(self) -> str:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "-", self.show.stem) or "show"
        return f"vernissage-{stem}.service"

    @property
    def headless(self) -> bool:
        return "--headless" in self.play_args

    def path(self) -> Path:
        if self.user:
            base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
            return base / "systemd" / "user" / self.name
        return SYSTEM_UNITS / self.name


class ServiceError(ValueError):
    """A unit that should not be written as asked; ``str()`` is one line saying what to do."""


def service_account(asked: str) -> str:
    """The account a system unit runs the show as: ``--as``, else whoever ran ``sudo``, else the
    current user. Never root by default: a show runs as the account logged in on the display
    (whose XAUTHORITY lets it open the window), and root has no business there."""
    if asked:
        return asked
    account = os.environ.get("SUDO_USER") or getpass.getuser()
    if account == "root":
        raise ServiceError("a system unit would run the show as root: give --as ACCOUNT (the user logged in "
                           "on the gallery's display), or --as root if that is really meant")
    return account


def home_of(account: str) -> Path:
    try:
        return Path(pwd.getpwnam(account).pw_dir)
    except KeyError:
        raise ServiceError(f"--as {account}: no such account on this machine") from None


def quote(arg: str) -> str:
    """One ExecStart argument as systemd reads it: % doubled (specifiers), quoted when it must be."""
    arg = arg.replace("%", "%%")
    if arg and not re.search(r'[\s"\'\\;$]', arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(unit: Unit) -> str:
    """The unit file, with a comment on each choice a technician may want to change."""
    command = [sys.executable, "-m", "engine.cli", "play", str(unit.show.resolve()), *unit.play_args]
    environment = ["PYTHONUNBUFFERED=1", "SDL_AUDIODRIVER=dummy"]
    account = "" if unit.user else service_account(unit.account)
    if not unit.headless:
        environment.append(f"DISPLAY={unit.display}")
        xauthority = unit.xauthority or ((home_of(account) if account else Path.home()) / ".Xauthority")
        environment.append(f"XAUTHORITY={xauthority}")
    if unit.user:
        start_limit = ["# A user service cannot reboot the machine: it retries for ever.", "StartLimitIntervalSec=0"]
        after = "graphical-session.target" if not unit.headless else "default.target"
        wanted_by = "graphical-session.target" if not unit.headless else "default.target"
    else:
        start_limit = ["# Restart for ever; five failed starts within ten minutes reboot the machine (a GPU",
                       "# that fell off the bus needs a reboot, not another restart).",
                       "StartLimitIntervalSec=600", "StartLimitBurst=5", "StartLimitAction=reboot"]
        after = "network-online.target" + ("" if unit.headless else " graphical.target")
        wanted_by = "multi-user.target" if unit.headless else "graphical.target"
    lines = [
        f"# Written by `vernissage service unit` on {dt.date.today().isoformat()}.",
        "[Unit]",
        f"Description=Vernissage: {unit.show.stem}",
        f"After={after}",
        *(["Wants=network-online.target"] if not unit.user else []),
        *start_limit,
        "",
        "[Service]",
        "# Ready when the first frame is shown; watchdog pings only while the show is healthy.",
        "Type=notify",
        "NotifyAccess=main",
        *([f"User={account}"] if not unit.user else []),
        f"WorkingDirectory={unit.show.resolve().parent}",
        *[f"Environment={quote(value)}" for value in environment],
        "ExecStart=" + " ".join(quote(arg) for arg in command),
        "# systemctl reload: read the show file again (as a saved edit would).",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=always",
        "RestartSec=2",
        f"WatchdogSec={WATCHDOG_SECONDS}",
        "# Loading a model and measuring the generator can take a while on a CPU.",
        "TimeoutStartSec=300",
        "# SIGTERM fades to black, closes recordings and saves the registry within a few seconds.",
        "TimeoutStopSec=15",
        "",
        "[Install]",
        f"WantedBy={wanted_by}",
    ]
    return "\n".join(lines) + "\n"


def install(unit: Unit) -> list[str]:
    """Write the unit, enable and start it where systemd runs; returns what was done, in words."""
    path = unit.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(unit), encoding="utf-8")
    done = [f"wrote {path}"]
    systemctl = shutil.which("systemctl")
    running = Path("/run/systemd/system").is_dir()
    scope = ["--user"] if unit.user else []
    if systemctl is None or not running:
        done.append(f"systemd is not running here: on the gallery machine run `systemctl {' '.join(scope + [''])}"
                    f"daemon-reload` and `systemctl {' '.join(scope + [''])}enable --now {unit.name}`")
        return done
    for args in (["daemon-reload"], ["enable", "--now", unit.name]):
        result = subprocess.run([systemctl, *scope, *args], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise OSError(f"systemctl {' '.join(scope + args)} failed: {result.stderr.strip()[:200]}")
        done.append(f"ran systemctl {' '.join(scope + args)}")
    if unit.user:
        done.append(f"a user service starts at boot only with `loginctl enable-linger {getpass.getuser()}`")
    return done
