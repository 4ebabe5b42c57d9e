"""Labels render in a process pool (LABEL_PROCESSES), off the worker's interpreter: the worker
pays next to no CPU per label, and a killed render process costs one retry, not the worker."""

from __future__ import annotations

import io
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool

import pypdf
import pytest

from backroom.orders.adapters import build_adapters
from backroom.settings import Settings
from backroom.shipping.carrier import choose_rate
from backroom.shipping.label_pdf import LabelRenderer
from backroom.shipping.local_carrier import LocalCarrier


@pytest.fixture
def pooled_carrier():
    carrier = LocalCarrier(renderer=LabelRenderer(1))
    yield carrier
    carrier.close()


async def test_pooled_label_is_the_same_label_and_costs_the_worker_almost_no_cpu(
    pooled_carrier, store, customer, small_box
) -> None:
    rate = choose_rate(await pooled_carrier.rates(store, customer, [small_box]), promised_days=3)
    await pooled_carrier.buy_label(rate, "order-1:label")  # starts the process, warms WeasyPrint

    cpu = time.process_time()
    labels = [await pooled_carrier.buy_label(rate, f"order-{i}:label") for i in range(2, 5)]
    worker_cpu = time.process_time() - cpu

    for label in labels:
        text = pypdf.PdfReader(io.BytesIO(label.label_pdf)).pages[0].extract_text()
        assert label.tracking_number in text and "Jane Customer" in text and "EXPRESS" in text
    # Rendering takes tens of ms of CPU per label; here the worker only pickles the request.
    assert worker_cpu < 0.04, worker_cpu
    inline = await LocalCarrier().buy_label(rate, "order-2:label")
    assert inline.tracking_number == labels[0].tracking_number


async def test_a_killed_render_process_fails_one_attempt_and_the_retry_renders(
    pooled_carrier, store, customer, small_box
) -> None:
    rate = choose_rate(await pooled_carrier.rates(store, customer, [small_box]), promised_days=3)
    first = await pooled_carrier.buy_label(rate, "order-9:label")
    for pid in list(pooled_carrier.renderer._pool._processes):
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):
        await pooled_carrier.buy_label(rate, "order-9:label")
    retry = await pooled_carrier.buy_label(rate, "order-9:label")
    assert retry.tracking_number == first.tracking_number and retry.label_pdf.startswith(b"%PDF")


def test_the_worker_renders_in_as_many_processes_as_label_processes_says(tmp_path) -> None:
    settings = Settings(BACKROOM_VAR=tmp_path, SECRET_KEY="x", STRIPE_API_KEY="sk_test_x", LABEL_PROCESSES=2)
    assert build_adapters(settings)["carrier"].renderer.processes == 2
    assert Settings(BACKROOM_VAR=tmp_path, SECRET_KEY="x").label_processes == 1
