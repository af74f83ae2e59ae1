"""What checking every request's signature costs an InvokeEndpoint call, measured side by side in one run.

1. One-row InvokeEndpoint through boto3 on the engine (every request's SigV4 signature verified with
   botocore's signer), p50 of N calls, beside the same boto3 client calling a do-nothing HTTP server in
   a process of its own (the floor: what any HTTP call from boto3 costs here), in alternating blocks of
   25 calls so that other load on the machine weighs on both alike.
   Goal: engine p50 <= 3 ms and <= 1.3x the floor.
2. The verification alone, in-process: ``Authenticator.admit`` + ``Claim.verify`` on a signed request's
   WSGI environ, p50 of N runs (the signing key cached per secret/date/region/service), and with the
   key cache cleared before each run (what it would cost without the cache).

Usage: python benchmarks/engine_auth.py [--calls N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Callable

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_engine import clients, deploy_kmeans, free_port  # noqa: E402

from sm_magics import launcher  # noqa: E402
from sm_magics.local import auth  # noqa: E402
from sm_magics.local.credentials import Credentials, generate  # noqa: E402
from sm_magics.local.sample_data import mnist_splits  # noqa: E402


def signed_environ(keys: Credentials, body: bytes) -> dict:
    """The WSGI environ werkzeug would build for a signed InvokeEndpoint request."""
    request = AWSRequest(method="POST", url="http://127.0.0.1:4747/endpoints/bench/invocations", data=body,
                         headers={"Content-Type": "text/csv"})
    SigV4Auth(BotoCredentials(keys.access_key_id, keys.secret_access_key, keys.session_token), "sagemaker", "us-east-1").add_auth(request)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/endpoints/bench/invocations", "REQUEST_URI": "/endpoints/bench/invocations",
               "QUERY_STRING": "", "HTTP_HOST": "127.0.0.1:4747", "CONTENT_TYPE": "text/csv", "CONTENT_LENGTH": str(len(body))}
    for name, value in request.headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value.decode() if isinstance(value, bytes) else value
    return environ


def verification_us(calls: int, row: bytes, cached: bool) -> float:
    keys = generate()
    authenticator = auth.Authenticator(auth.Keyring(keys))
    environ = signed_environ(keys, row)
    samples = []
    for index in range(calls + 50):
        if not cached:
            auth._signing_key.cache_clear()
        environ["wsgi.input"] = BytesIO(row)
        started = time.perf_counter()
        claim = authenticator.admit(environ)
        claim.verify(environ, environ["wsgi.input"].read())
        if index >= 50:
            samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def floor_server() -> subprocess.Popen:
    """The do-nothing HTTP server in its own process, as the engine is (it then does not share this one's GIL);
    its first line of output is its port."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from local_engine import _NothingNoDelay, _serve; "
            "server = _serve(_NothingNoDelay); print(server.server_address[1], flush=True); import time; time.sleep(3600)")
    return subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).resolve().parent)], stdout=subprocess.PIPE, text=True)


def interleaved_p50_ms(calls: dict[str, Callable[[], object]], n: int, block: int = 25) -> dict[str, float]:
    """p50 of ``n`` timed calls each, taken in alternating blocks so that a load change on the machine
    falls on every target alike."""
    samples: dict[str, list[float]] = {label: [] for label in calls}
    for call in calls.values():
        for _ in range(20):
            call()
    while any(len(found) < n for found in samples.values()):
        for label, call in calls.items():
            for _ in range(min(block, n - len(samples[label]))):
                started = time.perf_counter()
                call()
                samples[label].append((time.perf_counter() - started) * 1000)
    return {label: statistics.median(found) for label, found in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    (train, _), _, _ = mnist_splits()
    x = train[:2000]
    row = ",".join(f"{v:.4g}" for v in x[0])
    floor = floor_server()
    floor_rt = clients(f"http://127.0.0.1:{floor.stdout.readline().strip()}")["sagemaker-runtime"]
    with tempfile.TemporaryDirectory() as data_dir:
        info = launcher.start(port=free_port(), data_dir=Path(data_dir))
        try:
            c = clients(info.url, info.credentials)
            name = deploy_kmeans(c, x, "auth-bench")
            rt = c["sagemaker-runtime"]
            latency = interleaved_p50_ms({
                "engine": lambda: rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=row)["Body"].read(),
                "floor": lambda: floor_rt.invoke_endpoint(EndpointName="x", ContentType="text/csv", Body=row)["Body"].read(),
            }, args.calls)
        finally:
            launcher.stop(Path(data_dir))
            floor.terminate()
            floor.wait()
    engine_ms, floor_ms = latency["engine"], latency["floor"]
    cached_us = verification_us(args.calls * 4, row.encode(), cached=True)
    uncached_us = verification_us(args.calls * 4, row.encode(), cached=False)

    print(f"\n1. one-row InvokeEndpoint through boto3, p50 of {args.calls} calls each, interleaved "
          "(goal: engine <= 3 ms and <= 1.3x the floor)")
    print(f"   {'sm_magics engine, signatures verified':<44}{engine_ms:>7.2f} ms   {engine_ms / floor_ms:>5.2f}x floor")
    print(f"   {'do-nothing HTTP server (floor)':<44}{floor_ms:>7.2f} ms   {1:>5.2f}x floor")
    print(f"\n2. signature verification alone (admit + verify, in-process), p50 of {args.calls * 4} runs")
    print(f"   {'signing key cached':<44}{cached_us:>7.1f} us   {cached_us / 1000 / engine_ms:>6.1%} of the engine's p50")
    print(f"   {'signing key derived every time':<44}{uncached_us:>7.1f} us")


if __name__ == "__main__":
    main()
