"""What the service adds to the raw diffusers call, measured as a user sees it.

    PYTHONPATH=src:. python benchmarks/overhead.py --model tiny --steps 20 --runs 7
    PYTHONPATH=src:. python benchmarks/overhead.py --model tiny --steps 2 --runs 7
    PYTHONPATH=src:. python benchmarks/overhead.py --model sd15 --steps 2 --runs 5 --dtype bfloat16

Raw: `StableDiffusionPipeline.__call__` in this process (`--dtype`, fp32 by default, the service
told to use the same; DPM++ 2M Karras, 512x512, seed 42, the same thread count). End to end: `nexus-image serve` (embedded: SQLite, local files,
in-process queue) in a child process, POST /api/v1/images/generate, then the SSE `completed`
event (and, with `--poll-ms N`, also a GET of the job every N ms until COMPLETED: on 2 cores
that polling load itself slows the generation down). Runs alternate raw
and end to end (after one warm-up of each); the figures are medians; the output check (NudeNet)
is off unless `--safety`, since it is a feature with its own cost (docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx
import jwt
from tests.support.servers import free_port

from benchmarks.serving import wait_ready

SECRET = "overhead-benchmark-secret-long-enough-0123456789"
PROMPT = "a lighthouse on a cliff at dawn"


def model_folder(kind: str, cache: Path) -> Path:
    if kind == "tiny":
        from nexus_image.adapters.diffusers.tiny import ensure_tiny_pipeline

        return ensure_tiny_pipeline(cache)
    from benchmarks.sd15_shaped import ensure_sd15_shaped

    return ensure_sd15_shaped(cache / "sd15-shaped")


class Raw:
    def __init__(self, folder: Path, threads: int, dtype: str) -> None:
        import torch
        from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

        torch.set_num_threads(threads)
        self.torch = torch
        pipe = StableDiffusionPipeline.from_pretrained(  # type: ignore[no-untyped-call]
            folder, torch_dtype=getattr(torch, dtype), safety_checker=None
        )
        pipe.scheduler = DPMSolverMultistepScheduler.from_config(  # type: ignore[no-untyped-call]
            pipe.scheduler.config, use_karras_sigmas=True
        )
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe

    def run(self, steps: int) -> float:
        began = time.perf_counter()
        with self.torch.inference_mode():
            self.pipe(
                prompt=PROMPT,
                negative_prompt="",
                width=512,
                height=512,
                num_inference_steps=steps,
                guidance_scale=7.5,
                generator=self.torch.Generator().manual_seed(42),
                output_type="np",
            )
        return time.perf_counter() - began


class Served:
    """`nexus-image serve` in a child process, as a user runs it."""

    def __init__(
        self,
        folder: Path,
        threads: int,
        dtype: str,
        data: Path,
        safety: bool,
        workers: int | None,
        profile: Path | None,
    ) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "NEXUS_IMAGE_DATA_DIR": str(data),
            "NEXUS_IMAGE_MODEL": str(folder),
            "NEXUS_IMAGE_THREADS": str(threads),
            "NEXUS_IMAGE_DTYPE": dtype,  # the raw call's: the service picks bfloat16 where the CPU has it
            "NEXUS_IMAGE_JWT_SECRET": SECRET,
            "NEXUS_IMAGE_WELCOME_TOKENS": "100000",
            "NEXUS_IMAGE_RATE_LIMIT_PER_MINUTE": "100000",
            "NEXUS_IMAGE_IMAGE_SAFETY": "auto" if safety else "none",
        }
        command = [str(Path(sys.executable).with_name("nexus-image")), "serve", "--port", str(self.port)]
        if workers is not None:
            command += ["--workers", str(workers)]
        if profile is not None:  # collapsed stacks of every thread, for flame graphs
            spy = str(Path(sys.executable).with_name("py-spy"))
            command = [
                spy,
                "record",
                "--threads",
                "--format",
                "raw",
                "--rate",
                "200",
                "-o",
                str(profile),
                "--",
                *command,
            ]
        self.log = (data / "serve.log").open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)
        token = jwt.encode({"sub": "bench", "exp": int(time.time()) + 86400}, SECRET, algorithm="HS256")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", headers=self.headers, timeout=600
        )
        wait_ready(self.client, self.process, data / "serve.log", 600)
        self.completed: dict[str, float] = {}
        self.arrived = threading.Condition()
        self.stream_ready = threading.Event()
        threading.Thread(target=self._listen, daemon=True).start()
        self.stream_ready.wait(30)

    def _listen(self) -> None:
        with (
            httpx.Client(
                base_url=f"http://127.0.0.1:{self.port}", headers=self.headers, timeout=None
            ) as client,
            client.stream("GET", "/api/v1/events") as stream,
        ):
            self.stream_ready.set()
            name = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and name == "completed":
                    at = time.perf_counter()
                    with self.arrived:
                        self.completed[json.loads(line[5:])["job_id"]] = at
                        self.arrived.notify_all()

    def run(self, steps: int, poll_seconds: float) -> tuple[float, float, dict[str, float]]:
        """(seconds until a GET said COMPLETED, seconds until the SSE `completed` arrived, the
        job's own timestamps: queued → started → completed)."""
        began = time.perf_counter()
        body = {"prompt": PROMPT, "resolution": "512x512", "steps": steps, "seed": 42, "style": "realistic"}
        response = self.client.post("/api/v1/images/generate", json=body)
        assert response.status_code == 201, response.text
        job_id = response.json()["id"]
        polled = float("nan")
        while poll_seconds > 0:
            view = self.client.get(f"/api/v1/images/{job_id}").json()
            status = view["status"]
            if status == "COMPLETED":
                polled = time.perf_counter() - began
                break
            if status in ("FAILED", "CANCELLED"):
                raise SystemExit(f"job {job_id} ended {status}")
            time.sleep(poll_seconds)
        with self.arrived:  # asleep until the event arrives: no load on the machine meanwhile
            self.arrived.wait_for(lambda: job_id in self.completed, timeout=600)
        streamed = self.completed.get(job_id, float("nan")) - began
        view = self.client.get(f"/api/v1/images/{job_id}").json()
        created, started, completed = (
            datetime.fromisoformat(view[k].replace("Z", "+00:00"))
            for k in ("created_at", "started_at", "completed_at")
        )
        phases = {
            "queued_to_started": (started - created).total_seconds(),
            "started_to_completed": (completed - started).total_seconds(),
        }
        return polled, streamed, phases

    def finish_stages(self) -> dict[str, tuple[float, int]]:
        """The worker's finishing stages so far, from /metrics: stage -> (seconds, count)."""
        found: dict[str, list[float]] = {}
        for line in self.client.get("/metrics").text.splitlines():
            for part, index in (("_sum{", 0), ("_count{", 1)):
                if line.startswith(f"image_finish_stage_duration_seconds{part}"):
                    stage = line.split('stage="', 1)[1].split('"', 1)[0]
                    found.setdefault(stage, [0.0, 0.0])[index] = float(line.rsplit(" ", 1)[1])
        return {stage: (seconds, int(count)) for stage, (seconds, count) in found.items()}

    def close(self) -> None:
        self.process.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
        self.process.wait(60)
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=["tiny", "sd15"], default="tiny")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32", help="both sides")
    parser.add_argument(
        "--poll-ms", type=float, default=0.0, help="also poll GET every N ms (0: the SSE event only, no load)"
    )
    parser.add_argument("--safety", action="store_true", help="keep the NudeNet output check on")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the server into this file")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "nexus-image-bench")
    args = parser.parse_args()

    folder = model_folder(args.model, args.cache)
    raw = Raw(folder, args.threads, args.dtype)
    with tempfile.TemporaryDirectory() as data:
        served = Served(folder, args.threads, args.dtype, Path(data), args.safety, None, args.profile)
        try:
            raw.run(args.steps)
            served.run(args.steps, args.poll_ms / 1000)  # warm-up: caches, first-request costs
            raws: list[float] = []
            polled: list[float] = []
            streamed: list[float] = []
            phases: dict[str, list[float]] = {}
            before = served.finish_stages()
            for _ in range(args.runs):
                raws.append(raw.run(args.steps))
                p, s, phase = served.run(args.steps, args.poll_ms / 1000)
                polled.append(p)
                streamed.append(s)
                for name, seconds in phase.items():
                    phases.setdefault(name, []).append(seconds)
            after = served.finish_stages()
        finally:
            served.close()
    r, p, s = (statistics.median(v) for v in (raws, polled, streamed))
    if args.poll_ms <= 0:
        p = float("nan")
    result: dict[str, Any] = {
        "model": args.model,
        "steps": args.steps,
        "runs": args.runs,
        "threads": args.threads,
        "dtype": args.dtype,
        "raw_ms": round(r * 1000, 1),
        "end_to_end_polled_ms": round(p * 1000, 1) if args.poll_ms > 0 else None,
        "end_to_end_sse_ms": round(s * 1000, 1),
        "overhead_polled_ms": round((p - r) * 1000, 1) if args.poll_ms > 0 else None,
        "overhead_sse_ms": round((s - r) * 1000, 1),
        "overhead_sse_paired_median_ms": round(
            statistics.median(b - a for a, b in zip(raws, streamed, strict=True)) * 1000, 1
        ),
        "ratio_polled": round(p / r, 3) if args.poll_ms > 0 else None,
        "ratio_sse": round(s / r, 3),
        **{f"{name}_ms": round(statistics.median(v) * 1000, 1) for name, v in phases.items()},
        "finish_stage_mean_ms": {  # the worker's own measure of each stage, over the timed runs
            stage: round((seconds - before.get(stage, (0.0, 0))[0]) * 1000 / n, 1)
            for stage, (seconds, count) in after.items()
            if (n := count - before.get(stage, (0.0, 0))[1]) > 0
        },
        "raw_all_ms": [round(v * 1000) for v in raws],
        "sse_all_ms": [round(v * 1000) for v in streamed],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
