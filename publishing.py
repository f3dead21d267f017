"""How every program of the project (ex09.py, the analyses, tools/, benchmarks/) leaves its
results: whole or not at all, and never after a stop was asked for.

- staged(final): `with staged(final) as stage:` write into `stage`; at the end of the block it
  is published, after an error or a stop it is removed. Built from make_stage(final), a private
  folder beside `final` named after this process (stages that killed runs left there are
  removed), and publish(stage, final), which swaps it into place in one rename and refuses once
  a signal has arrived.
- written(path, write): a write whose error on a full disk names the file.
- handle_signals(): Ctrl+C and `kill` (SIGTERM) raise KeyboardInterrupt and are remembered,
  because Python swallows an exception raised inside a finalizer or a garbage-collection callback
  ("Exception ignored in ..."): the record cannot be swallowed; publish() checks it, and so
  does stop_if_asked(), which a long job calls between its steps (ex09.py: every epoch).
- child_env() / end_with_parent(): a training or analysis started by another of the project's
  programs stops (as on Ctrl+C) when that program dies, even by SIGKILL.
"""

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

PARENT_VARIABLE = "AE09_PARENT_PID"  # set by the project's programs for the children they start
_signals = {"received": [], "deferred": False}


def on_signal(signum, frame):
    _signals["received"].append(signum)
    if not _signals["deferred"]:
        raise KeyboardInterrupt


def handle_signals():
    for name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, name), on_signal)


def interrupted():
    return bool(_signals["received"])


def stop_if_asked():
    """Raise the KeyboardInterrupt of a stop that arrived but was swallowed (see above): called
    between a long job's steps, so that such a stop ends the job there, not at its publish."""
    if interrupted() and not _signals["deferred"]:
        raise KeyboardInterrupt


@contextmanager
def staged(final):
    """The private folder to write `final`'s results into; published when the block ends
    without an error, removed in every case."""
    stage = make_stage(final)
    try:
        yield stage
        publish(stage, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def make_stage(final):
    """A fresh private folder beside `final` (same file system: the publish is one rename)."""
    prefix = f".{final.name}.partial-"
    if os.name == "posix":  # Windows has no harmless way to ask whether a pid is alive
        for old in final.parent.glob(prefix + "*"):
            pid = old.name[len(prefix):].split("-")[0]
            if pid.isdigit() and not alive(int(pid)):  # its run was killed: nobody finishes it
                shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=final.parent))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's
        pass
    return True


def publish(stage, final):
    """Swap a finished run's private folder into place as a whole: `final` holds the files of
    one run, the later of two at once. Atomic renames: no lock, nothing POSIX-only needed."""
    if interrupted():  # a stop asked for, even one whose KeyboardInterrupt was swallowed
        raise KeyboardInterrupt
    refuse_nested_runs(final)
    os.umask(mask := os.umask(0))  # (reads the umask) as a plain mkdir, not mkdtemp's 0700:
    os.chmod(stage, 0o777 & ~mask)
    _signals["deferred"] = True  # a signal now is acted on after the two renames
    try:
        for _ in range(100):
            old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
            try:
                if final.exists():
                    os.replace(final, old)
                os.replace(stage, final)
                return
            except OSError:  # another run published between our two renames: try again
                if old.exists() and not final.exists():
                    os.replace(old, final)  # the earlier results back, never lost
                time.sleep(0.05)
            finally:
                if final.exists():
                    shutil.rmtree(old, ignore_errors=True)
    finally:
        _signals["deferred"] = False
    raise PublishError(f"could not publish the run into {final}: it keeps changing or is in use "
                       f"(another program holding a file open there?)")


def refuse_nested_runs(final):
    """A folder that holds another run below it (a run made with --out-dir inside this one)
    is never replaced: that run would go with it."""
    nested = sorted(p.parent for p in Path(final).glob("*/**/metrics.json")) if Path(
        final).is_dir() else []
    if nested:
        raise PublishError(f"will not replace {final}: it holds another run, {nested[0]}, that "
                           f"would be lost; move that run out, or choose another --out-dir")


class PublishError(Exception):
    """Printed as one line like any user error (ex09.USER_ERRORS)."""


def make_dirs(folder):
    """mkdir -p; returns the folders it created, deepest first, for remove_if_empty."""
    made, folder = [], Path(folder)
    while not folder.exists() and folder != folder.parent:
        made.append(folder)
        folder = folder.parent
    Path(made[0] if made else folder).mkdir(parents=True, exist_ok=True)
    return made


def remove_if_empty(made):
    """After a failure: the folders make_dirs created, if nothing was put in them."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): keep it and everything above
            return


def check_target(path, suffix=None):
    """Refuse, in one line, a target that is not a result file of this kind: a folder, a
    device or anything else that is not a regular file, or (given `suffix`) a path of another
    kind (a ZIP written over ex09.py, JSON over noise.py)."""
    path = Path(path)
    if path.is_dir():
        raise PublishError(f"cannot write {path}: it is a folder")
    if os.path.lexists(path) and not path.is_file():
        raise PublishError(f"cannot write {path}: it exists and is not a regular file")
    if suffix and path.suffix.lower() != suffix:
        raise PublishError(f"will not write {path}: the path of a {suffix} file must end in "
                           f"{suffix} (is it another file's name?)")


def check_writable(path, suffix=None):
    """Before any work: can a result file be written at `path`? A one-line error if not."""
    path = Path(path)
    check_target(path, suffix)
    if not path.parent.is_dir():
        raise PublishError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as err:
        raise PublishError(f"cannot write {path}: {err.strerror}") from None


def written(path, write):
    """write(path); a full disk's error then names the file (Python's names none on write)."""
    try:
        write(path)
    except OSError as err:
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None


def publish_file(path, write, suffix=None):
    """write(partial) beside `path`, then one rename over it: the whole file or, after a
    failure or an interrupt, the old one and nothing beside it. Only over a regular file."""
    path = Path(path)
    check_target(path, suffix)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        written(path, lambda _: (write(partial), os.replace(partial, path)))
    finally:
        partial.unlink(missing_ok=True)


def write_atomically(path, text, suffix=None):
    """publish_file for a text."""
    publish_file(path, lambda partial: partial.write_text(text), suffix)


def child_env(env=None):
    """The environment for a child process that should end with this one."""
    return {**(os.environ if env is None else env), PARENT_VARIABLE: str(os.getpid())}


def end_with_parent(poll_s=0.5):
    """In a child started with child_env(): when the parent dies (its pid is no longer our
    parent's: we were re-parented), stop as on Ctrl+C, so that nothing half-made is published
    and our own children stop too. POSIX only: on Windows a dead parent's pid stays ours."""
    parent = os.environ.get(PARENT_VARIABLE)
    if os.name != "posix" or parent != str(os.getppid()):
        return  # started by a person or another program: a closed terminal is their business

    def watch():
        while os.getppid() == int(parent):
            time.sleep(poll_s)
        print(f"the parent process {parent} ended: stopping", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="end-with-parent").start()
