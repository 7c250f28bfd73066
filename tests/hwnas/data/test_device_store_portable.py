"""The device store without `fcntl` (Windows): every command imports, concurrent appenders lose no rows."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from hwnas.cli import available_commands
from hwnas.data import device_store

NO_FCNTL = "import sys; sys.modules['fcntl'] = None  # as on Windows: `import fcntl` raises ImportError\n"


def _python(code: str, env: dict | None = None) -> subprocess.Popen:
    import os

    return subprocess.Popen([sys.executable, "-W", "ignore", "-c", NO_FCNTL + textwrap.dedent(code)],
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_every_command_module_imports_without_fcntl():
    modules = sorted(available_commands().values())
    assert "search" in modules and "measure" in modules
    proc = _python(f"""
        import importlib
        for name in {modules!r}:
            importlib.import_module("hwnas.cli.commands." + name)
        import hwnas.data.device_store
        print("imported", len({modules!r}))
    """)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    assert out.strip() == f"imported {len(modules)}"


def test_concurrent_appenders_without_fcntl_keep_every_row(tmp_path, monkeypatch):
    writer = """
        import os, time
        from hwnas.data import device_store
        while not os.path.exists(GO):  # start together, so that the appends overlap
            time.sleep(0.001)
        settings = {"backend": "cpu", "threads": 1, "batch_size": 1, "dtype": "float32", "channels_last": False}
        for i in range(30):
            row = {"index": WORKER * 1000 + i, "arch": "x" * 300, "latency_ms": i + 1.0, "status": "ok", **settings}
            device_store.append("nasbench201", "local-w", [row, dict(row)])
    """
    env = {device_store.ENV_VAR: str(tmp_path)}
    monkeypatch.setenv(device_store.ENV_VAR, str(tmp_path))
    go = tmp_path / "go"
    procs = [_python(writer.replace("WORKER", str(w)).replace("GO", repr(str(go))), env) for w in range(4)]
    time.sleep(3)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
    rows = device_store.read("nasbench201", "local-w")
    assert len(rows) == 4 * 30 * 2
    assert all(r["arch"] == "x" * 300 for r in rows)
    text = (tmp_path / "nasbench201" / "local-w.csv").read_text()
    assert text.count("index,arch,latency_ms") == 1
    assert sorted({r["index"] for r in rows}) == sorted(w * 1000 + i for w in range(4) for i in range(30))


def test_a_damaged_file_refuses_its_device_not_the_catalogue(tmp_path, monkeypatch):
    import pytest

    from hwnas.core.errors import HwnasError
    from hwnas.data import devices

    monkeypatch.setenv(device_store.ENV_VAR, str(tmp_path))
    (tmp_path / "nasbench201").mkdir()
    (tmp_path / "nasbench201" / "local-bad.csv").write_bytes(b"index,arch\n\xff\xfe\x00garbage\n")
    for call in (lambda: device_store.read("nasbench201", "local-bad"),
                 lambda: device_store.append("nasbench201", "local-bad", [{"index": 1, "latency_ms": 1.0}])):
        with pytest.raises(HwnasError, match="corrupt device store file .*local-bad.csv: not UTF-8"):
            call()
    with pytest.raises(HwnasError, match="corrupt device store file .*local-bad.csv: not UTF-8"):
        with pytest.warns(UserWarning, match="left out of the catalogue"):  # the catalogue skips it first
            devices.require_device("nasbench201", "local-bad")
    with pytest.warns(UserWarning, match="local-bad left out of the catalogue"):
        catalogue = devices.devices("nasbench201")
    assert "pixel3" in catalogue and "local-bad" not in catalogue
    with pytest.warns(UserWarning, match="local-bad left out of the catalogue"):
        assert devices.require_device("nasbench201", "pixel3").name == "pixel3"
