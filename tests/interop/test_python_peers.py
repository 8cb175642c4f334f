"""The Python peers checked against each other, entirely in Python (no gridedge binary needed).

gurux_meter.py (gurux-dlms server classes) is started on a free loopback port and read
with gurux_client_read.py (gurux-dlms client classes) and dlms_cosem_client_read.py
(dlms-cosem). Two independent client stacks agreeing with the meter's declared values
(and with the literal values below) shows that the meter and both clients work, so they
can be trusted as reference peers for gridedge's own meter and HES.

Run: .venv/bin/python -m pytest tests/interop
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PYTHON = os.environ.get("INTEROP_PYTHON", sys.executable)
METER = HERE / "gurux_meter.py"
CLIENTS = {
    "gurux": HERE / "gurux_client_read.py",
    "dlms_cosem": HERE / "dlms_cosem_client_read.py",
}
FIXED_CLOCK = "2024-05-01T12:34:56Z"
READY_TIMEOUT_S = 20
CLIENT_TIMEOUT_S = 60
METER_LIFETIME_S = 600  # the meter stops by itself even if teardown never runs


class Meter:
    """A running gurux_meter.py: its port and the values it declares with --dump-expected."""

    def __init__(self, args: list[str]):
        self.args = args
        dump = subprocess.run(
            [PYTHON, str(METER), "0", *args, "--dump-expected"],
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_S,
            check=True,
        )
        self.expected = json.loads(dump.stdout)
        self.proc = subprocess.Popen(
            [PYTHON, str(METER), "0", *args, "--lifetime", str(METER_LIFETIME_S)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.port = self._wait_ready()

    def _wait_ready(self) -> int:
        deadline = time.monotonic() + READY_TIMEOUT_S
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith("READY "):
                    return int(line.split()[1])
                if not line and self.proc.poll() is not None:
                    break
        self.stop()
        raise RuntimeError(f"gurux_meter.py did not print READY: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def run_client(name: str, port: int, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, str(CLIENTS[name]), "127.0.0.1", str(port), *extra],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
    )


def read_ok(name: str, port: int, *extra: str) -> dict:
    result = run_client(name, port, *extra)
    assert result.returncode == 0, f"{name} failed: {result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def meter():
    m = Meter(["--clock", FIXED_CLOCK, "--serial", "GRD0000000042"])
    yield m
    m.stop()


@pytest.fixture(scope="module")
def small_pdu_meter():
    """Max PDU 128 bytes, so the 40-row profile and object list need GET block transfer;
    visible-string serial; 1.0.1.8.0.255 with scaler 3 (kWh resolution)."""
    m = Meter(
        [
            "--clock",
            FIXED_CLOCK,
            "--serial",
            "VIS-77",
            "--serial-type",
            "visible",
            "--max-pdu",
            "128",
            "--profile-entries",
            "40",
            "--energy-scaler",
            "3",
        ]
    )
    yield m
    m.stop()


READ_KEYS = ("clock", "serial", "active_energy_import_wh", "scaler", "unit", "profile")


def test_dump_expected_holds_the_documented_values(meter):
    # Literal values from the README / gurux_meter.py docstring, not derived from the meter code.
    e = meter.expected
    assert e["clock"] == "2024-05-01T12:34:56+00:00"
    assert e["serial"] == "GRD0000000042"
    assert (e["active_energy_import_wh"], e["scaler"], e["unit"]) == (123456, 0, 30)
    assert len(e["profile"]) == 8
    assert e["profile"][0] == {"time": "2024-05-01T00:00:00Z", "status": 0, "values": [122000, 6500, 4000, 1200]}
    assert e["profile"][3] == {"time": "2024-05-01T00:45:00Z", "status": 128, "values": [122540, 6515, 4120, 1209]}
    assert e["registers"]["1.0.32.7.0.255"] == {"raw": 2301, "scaler": -1, "unit": 35, "value": 230.1}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_public_client_reads_clock_serial_energy_and_whole_profile(meter, client):
    got = read_ok(client, meter.port)
    assert {k: got[k] for k in READ_KEYS} == {k: meter.expected[k] for k in READ_KEYS}
    assert got["active_energy_import_wh"] == 123456
    assert got["profile"][3]["status"] == 128


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_profile_by_range_returns_only_rows_inside_the_range(meter, client):
    got = read_ok(client, meter.port, "--from", "2024-05-01T00:10:00Z", "--to", "2024-05-01T00:45:00Z")
    assert [row["time"] for row in got["profile"]] == [
        "2024-05-01T00:15:00Z",
        "2024-05-01T00:30:00Z",
        "2024-05-01T00:45:00Z",
    ]
    assert got["profile"] == meter.expected["profile"][1:4]


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_range_bounds_with_an_offset_are_compared_in_utc(meter, client):
    # 02:30+02:00 is 00:30Z: the range [00:30Z, 01:00Z] holds three rows.
    got = read_ok(client, meter.port, "--from", "2024-05-01T02:30:00+02:00", "--to", "2024-05-01T01:00:00Z")
    assert [row["time"] for row in got["profile"]] == [
        "2024-05-01T00:30:00Z",
        "2024-05-01T00:45:00Z",
        "2024-05-01T01:00:00Z",
    ]


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_empty_range_gives_empty_profile(meter, client):
    got = read_ok(client, meter.port, "--from", "2030-01-01T00:00:00Z", "--to", "2030-01-02T00:00:00Z")
    assert got["profile"] == []
    assert got["serial"] == "GRD0000000042"


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_management_client_with_lls_password_reads(meter, client):
    got = read_ok(client, meter.port, "--client", "1", "--auth", "low", "--password", "00000000", "--skip-profile")
    assert got["serial"] == "GRD0000000042"
    assert got["profile"] == []


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize(
    "args",
    [
        ("--client", "1", "--auth", "low", "--password", "wrong"),
        ("--client", "1", "--auth", "none"),
        ("--client", "16", "--auth", "low"),
    ],
    ids=["wrong-password", "management-without-lls", "public-with-lls"],
)
def test_bad_authentication_is_refused_with_a_clear_error(meter, client, args):
    result = run_client(client, meter.port, *args, "--skip-profile")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "association refused" in result.stderr


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_unknown_client_sap_gets_no_answer_and_the_client_times_out(meter, client):
    result = run_client(client, meter.port, "--client", "17", "--timeout", "2", "--skip-profile")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "error:" in result.stderr


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_no_meter_listening_is_a_clear_failure(client, unused_port):
    result = run_client(client, unused_port, "--timeout", "2")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "error:" in result.stderr


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_block_transfer_visible_string_and_scaler(small_pdu_meter, client):
    got = read_ok(client, small_pdu_meter.port)
    assert {k: got[k] for k in READ_KEYS} == {k: small_pdu_meter.expected[k] for k in READ_KEYS}
    assert got["serial"] == "VIS-77"
    assert (got["active_energy_import_wh"], got["scaler"]) == (123456000, 3)
    assert len(got["profile"]) == 40
    assert got["profile"][39]["time"] == "2024-05-01T09:45:00Z"


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
