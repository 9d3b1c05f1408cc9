"""Benchmark: frames per second through the edge-to-cloud pipeline on two real sites, with the
link between them limited to a set bandwidth, against the same pipeline on one site.

Two ``sluice up``, each in its own network namespace (``scripts/netns-up``, guards first;
``tests/continuum/sites.py``), talking over their veth link only, with a ``tc tbf`` limit on
it. The pipeline is the seeds' shape with stand-in work: an edge service reads each frame
(``--edge-work`` rounds of sha256 over it, the "anonymise" step) and writes it into the cloud's
store; that upload is the cloud's own event, and a cloud service does ``--cloud-work`` rounds
(the "detect" step) and writes a result. The anchor, in the same run: both services on the
edge site alone, the frame going from one to the other through the edge's own store.

Where the time goes, per frame (medians, from both ledgers, which share this machine's clock):
the edge job (start to recorded finish: the work and the upload over the link), edge job start
to the cloud job's creation (the work, the upload, the cloud store's event), the cloud job; per
run the CPU seconds of each site (manager, store and jobs) against how long the link needed to
carry the bytes at the set rate.

    sudo .venv/bin/python bench/continuum.py --frames 40 --frame-kb 100 --rate 8mbit
"""

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from tests.continuum.helpers import cli, service, write_config, write_fdl
from tests.continuum.sites import SiteProcess, Sites, two_sites

WORK = 'i=0; while [ "$i" -lt "$ROUNDS" ]; do\n'
WORK += '  sha256sum "$INPUT_FILE_PATH" >/dev/null; i=$((i+1))\ndone\n'
WORK += 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"\n'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=40, help="frames per run")
    parser.add_argument("--frame-kb", type=int, default=100, help="size of each frame, KiB")
    parser.add_argument("--rate", default="8mbit", help="link bandwidth (tc tbf rate)")
    parser.add_argument("--edge-work", type=int, default=20, help="sha256 rounds per frame")
    parser.add_argument("--cloud-work", type=int, default=20, help="sha256 rounds per frame")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    return parser.parse_args()


def rate_bits(rate: str) -> float:
    units = {"kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bit": 1.0}
    for unit, factor in units.items():
        if rate.endswith(unit):
            return float(rate.removesuffix(unit)) * factor
    return float(rate)


def pipeline(
    sites: Sites, folder: Path, prefix: str, two_sites: bool, args: argparse.Namespace
) -> Path:
    out = ("minio.cloud", f"{prefix}/mid") if two_sites else ("minio.default", f"{prefix}/mid")
    edge = service(f"{prefix}-anon", f"{prefix}/in", [out], "edge", script="work.sh")
    edge["environment"]["Variables"]["ROUNDS"] = str(args.edge_work)
    edge["log_level"] = "CRITICAL"
    detect = service(f"{prefix}-detect", f"{prefix}/mid", [("minio.default", f"{prefix}/out")], "")
    detect |= {"script": "work.sh", "log_level": "CRITICAL"}
    detect["environment"]["Variables"]["ROUNDS"] = str(args.cloud_work)
    where = "cloud" if two_sites else "edge"
    fdl = write_fdl(
        folder, [("edge", edge), (where, detect)], {"cloud": sites.cloud.minio_provider()}
    )
    (folder / "work.sh").write_text(WORK)
    return fdl


class Site:
    """CPU seconds of one site's manager, store and finished jobs; its ledger, read-only."""

    def __init__(self, site: SiteProcess) -> None:
        self.site = site
        assert site.process is not None
        self.pids = {"manager": site.process.pid, "store": common.weed_pid(site)}
        self._db = sqlite3.connect(f"file:{site.data_dir / 'sluice.db'}?mode=ro", uri=True)

    def cpu_s(self) -> dict[str, float]:
        manager = common.cpu_of(self.pids["manager"])
        store = common.cpu_of(self.pids["store"])
        return {"manager": manager.own, "store": store.own, "jobs": manager.children}

    def jobs(self, service: str) -> dict[str, tuple[float, float, float]]:
        """Per frame name: created, started, finished (epoch seconds) of its finished job."""
        rows = self._db.execute(
            "SELECT object_key, created_at, started_at, finished_at FROM jobs "
            "WHERE service = ? AND status = 'Succeeded'",
            (service,),
        )
        found: dict[str, tuple[float, float, float]] = {}
        for key, created, begun, ended in rows:
            stamps = (common._epoch(created), common._epoch(begun), common._epoch(ended))
            if stamps[0] is not None and stamps[1] is not None and stamps[2] is not None:
                found[Path(key).name] = (stamps[0], stamps[1], stamps[2])
        return found


def run(sites: Sites, folder: Path, two: bool, args: argparse.Namespace) -> dict[str, Any]:
    prefix = "two" if two else "one"
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(sites, folder / "config.yaml")
    applied = cli(config, "apply", str(pipeline(sites, folder, prefix, two, args)))
    if applied.exit_code != 0:
        raise SystemExit(applied.output)
    edge, cloud = Site(sites.edge), Site(sites.cloud)
    detect_site = cloud if two else edge
    frames = [os.urandom(args.frame_kb * 1024) for _ in range(args.frames)]
    before = {"edge": edge.cpu_s(), "cloud": cloud.cpu_s()}
    s3 = sites.edge.s3()
    started = time.time()
    for index, frame in enumerate(frames):
        s3.put_object(Bucket=prefix, Key=f"in/f{index:05d}.bin", Body=frame)
    deadline = time.monotonic() + args.timeout
    while len(detect_site.jobs(f"{prefix}-detect")) < args.frames:
        if time.monotonic() > deadline:
            raise SystemExit(f"{prefix}: not every frame came through in {args.timeout} s")
        time.sleep(0.1)
    wall = max(f for _, _, f in detect_site.jobs(f"{prefix}-detect").values()) - started
    after = {"edge": edge.cpu_s(), "cloud": cloud.cpu_s()}
    anon, detect = edge.jobs(f"{prefix}-anon"), detect_site.jobs(f"{prefix}-detect")
    per_frame = {
        "edge_job_s": [f - s for _, s, f in anon.values()],
        # edge job started → cloud job created: the work, the upload over the link, the event
        # (the cloud's event comes before the edge has recorded its job finished)
        "edge_start_to_cloud_event_s": [detect[k][0] - anon[k][1] for k in anon if k in detect],
        "cloud_job_s": [f - s for _, s, f in detect.values()],
    }
    sent = args.frames * args.frame_kb * 1024
    result: dict[str, Any] = {
        "frames_per_s": round(args.frames / wall, 3),
        "wall_s": round(wall, 3),
        "per_frame_p50_s": {k: round(statistics.median(v), 4) for k, v in per_frame.items()},
        "cpu_s": {
            site: {k: round(after[site][k] - before[site][k], 3) for k in after[site]}
            for site in after
        },
    }
    if two:
        busy = sent * 8 / rate_bits(args.rate)
        result["link"] = {"rate": args.rate, "bytes": sent, "busy_s": round(busy, 3)}
        result["link"]["share_of_wall"] = round(busy / wall, 3)
    return result


def main() -> None:
    args = parse_args()
    started = common.conditions()
    common.open_interpreter_folders()
    with tempfile.TemporaryDirectory(prefix="sluice-continuum-") as tmp:
        Path(tmp).chmod(0o711)
        with two_sites(Path(tmp) / "sites") as sites:
            sites.limit(args.rate)
            one = run(sites, Path(tmp) / "one", False, args)
            two = run(sites, Path(tmp) / "two", True, args)
    sizes = {"frames": args.frames, "frame_kb": args.frame_kb}
    sizes |= {"edge_work": args.edge_work, "cloud_work": args.cloud_work}
    common.report({"sizes": sizes, "two_sites": two, "one_site": one}, started)


if __name__ == "__main__":
    main()
