"""The email and memory figures' own code: growth arithmetic, /proc reading, the counting SMTP
sink, the smtplib baseline, the CSV a shop would upload and the worker's environment (no
timings are asserted)."""

import os
import smtplib
from email.message import EmailMessage

import pytest

from bench import email_figures, memory_figures
from bench.email_figures import CountingHandler, smtp_sink
from bench.memory_figures import growth, rss_figure, status_kb, verdict

STATUS = """Name:\tcelery
VmPeak:\t  812345 kB
VmHWM:\t  123456 kB
VmRSS:\t  120000 kB
Threads:\t3
"""


def test_growth_is_relative_to_the_smaller_size():
    assert growth(100.0, 110.0) == pytest.approx(0.10)
    assert growth(200.0, 150.0) == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="positive"):
        growth(0.0, 10.0)


def test_growth_under_twenty_percent_reads_flat():
    assert verdict(100.0, 100.0) == "flat"
    assert verdict(100.0, 119.9) == "flat"
    assert verdict(100.0, 95.0) == "flat"
    assert verdict(100.0, 120.0) == "grows"
    assert verdict(100.0, 200.0) == "grows"


def test_a_memory_figure_reads_its_ratio_as_the_growth_factor(capsys):
    figure = rss_figure(name="worker RSS", small=[100.0, 104.0, 102.0],
                        large=[106.0, 108.0, 107.0], note="test")  # fmt: skip

    assert figure.ratio == pytest.approx(107 / 102)
    assert figure.passed is True and figure.higher_is_better is False
    assert figure.name == "worker RSS (flat)"
    assert figure.extra["verdict"] == "flat"
    assert figure.extra["growth"] == pytest.approx(107 / 102 - 1)
    assert "(flat)" in capsys.readouterr().out

    grown = rss_figure(name="import RSS", small=[100.0], large=[190.0], note="test")
    assert grown.passed is False and grown.name == "import RSS (grows)"


def test_it_reads_kilobyte_fields_of_proc_status():
    assert status_kb(STATUS, "VmRSS") == 120000
    assert status_kb(STATUS, "VmHWM") == 123456
    assert status_kb(STATUS, "VmSwap") is None
    own_rss = memory_figures.process_kb(os.getpid())
    assert own_rss and memory_figures.process_kb(os.getpid(), "VmHWM") >= own_rss
    assert memory_figures.process_kb(2**22 + 12345) is None  # no such process


def test_the_sampler_keeps_the_peak_of_the_summed_processes():
    pid = os.getpid()
    sampler = memory_figures.RssSampler(lambda: [pid, pid, 2**22 + 12345])
    sampler.sample()

    assert sampler.samples == 1
    assert sampler.peak_total_kb == pytest.approx(2 * sampler.peak_process_kb, rel=0.05)
    assert sampler.peak_total_mb == sampler.peak_total_kb / 1024


def _message(message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "reviews@localhost"
    message["To"] = "buyer@example.com"
    message["Subject"] = "How was your order?"
    message["Message-ID"] = message_id
    message.set_content("Please rate your purchase.")
    return message


def test_the_sink_counts_messages_and_distinct_message_ids():
    with smtp_sink() as (handler, port), smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for message_id in ("<a@localhost>", "<b@localhost>", "<a@localhost>"):
            smtp.send_message(_message(message_id))

        assert handler.counts() == (3, 2)
        assert handler.wait_for(3, timeout=5) > 0
        with pytest.raises(TimeoutError, match="3 of 4"):
            handler.wait_for(4, timeout=0.2)
        handler.reset()
        assert handler.counts() == (0, 0)


def test_the_sink_reads_a_message_id_folded_onto_a_continuation_line():
    folded = b"From: a@localhost\r\nMessage-ID: \r\n <long-%d@localhost>\r\n\r\nbody\r\n"
    with smtp_sink() as (handler, port), smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for i in (1, 2, 2):
            smtp.sendmail("a@localhost", ["b@example.com"], folded % i)

        assert handler.counts() == (3, 2)


def test_the_sink_waits_no_longer_for_a_dead_worker():
    handler = CountingHandler()

    with pytest.raises(TimeoutError, match="0 of 1"):
        handler.wait_for(1, timeout=30, alive=lambda: False)


def test_the_baseline_sends_n_distinct_messages_over_one_connection():
    template = _message("<bench-@@N@@@localhost>").as_bytes().replace(b"\n", b"\r\n")
    with smtp_sink() as (handler, port):
        rate = email_figures.send_with_smtplib(n=5, sink=handler, port=port, message=template)

        assert rate > 0
        assert handler.counts() == (5, 5)


def test_the_csv_has_one_order_per_line_and_a_header_the_product_reads(tmp_path):
    from invitations.csv_import import REQUIRED_COLUMNS
    from invitations.csv_import.reading import open_records

    path = tmp_path / "orders.csv"
    memory_figures.write_csv(path, lines=25, tag="t")

    assert len(path.read_text().splitlines()) == 26
    with path.open(encoding="utf-8", newline="") as text:
        header, records = open_records(text)
        rows = list(records)
    assert set(REQUIRED_COLUMNS) <= set(header.columns)
    assert header.ignored == []
    assert len(rows) == 25 and all(problem == "" for _line, _cells, problem in rows)
    assert len({cells[0] for _line, cells, _problem in rows}) == 25


def test_the_worker_runs_production_settings_on_the_bench_database_and_the_sink(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@elsewhere/ekomi")
    monkeypatch.setenv("TEST_EMAIL_URL", "smtp://elsewhere:25")

    env = email_figures.worker_env(dbname="ekomi_bench", redis_url="redis://127.0.0.1:6379/9",
                                   smtp_port=2525)  # fmt: skip

    assert env["DJANGO_SETTINGS_MODULE"] == "ekomi.settings.production"
    assert env["DATABASE_URL"].endswith("@127.0.0.1:5432/ekomi_bench")
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/9"
    assert env["EMAIL_URL"] == "smtp://127.0.0.1:2525"
    assert "TEST_EMAIL_URL" not in env


def test_the_worker_runs_with_the_concurrency_of_the_production_compose_file():
    """Issue 12: the email figure measures the worker as docker-compose.yml and Procfile.dev run
    it (its pool processes mostly wait on SMTP, Postgres and Redis, hence more than the cores)."""
    option = f"--concurrency={email_figures.WORKER_CONCURRENCY} "
    assert option in (email_figures.ROOT / "docker-compose.yml").read_text()
    assert option in (email_figures.ROOT / "Procfile.dev").read_text()


def test_the_small_email_figure_gives_every_pool_process_several_batches():
    """Issue 12: the figure CI prints measures sending, not the first batch's start. With fewer
    batches than pool processes some stand idle and the ratio says little."""
    from invitations.sending import SEND_BATCH_SIZE

    batches = email_figures.EMAILS_SMALL // SEND_BATCH_SIZE
    assert batches >= 4 * email_figures.WORKER_CONCURRENCY


@pytest.mark.parametrize(
    ("small", "sends", "rss_name"),
    [
        (True, [2_000, 4_000, 2_000, 4_000], "worker RSS sending 4,000 vs 2,000 emails (flat)"),
        (False, [10_000, 10_000, 50_000, 100_000],
         "worker RSS sending 100,000 vs 50,000 emails (flat)"),
    ],
)  # fmt: skip
def test_the_worker_memory_figure_sends_100000_emails_at_the_default_scale(
    monkeypatch, small, sends, rss_name
):
    """Issue 12 ("worker RSS while sending 100,000 emails"): the default scale compares a fresh
    worker's peak at 100,000 emails with one at 50,000; --small reuses the rate figure's runs of
    2,000 against 4,000. Which numbers of emails are sent, and what each figure is built from."""
    from contextlib import contextmanager

    from bench.figures import Plan

    sent: list[int] = []

    def send_through_worker(*, n, **_common):
        sent.append(n)
        return email_figures.SendResult(
            n=n, seconds=n / 500, idle_rss_mb=300.0, peak_rss_mb=350.0 + len(sent),
            peak_process_mb=90.0,
        )  # fmt: skip

    @contextmanager
    def fake(*_args, **_kwargs):
        yield None, None

    monkeypatch.setattr(email_figures, "send_through_worker", send_through_worker)
    monkeypatch.setattr(email_figures, "send_with_smtplib", lambda **kw: kw["n"] / 1000)
    monkeypatch.setattr(email_figures, "rendered_message", lambda *_: b"x" * 100)
    monkeypatch.setattr(email_figures, "smtp_sink", fake)
    monkeypatch.setattr(email_figures, "own_redis_database", fake)
    plan = Plan(dbname="ekomi_bench_x", shops=10, runs=5, orders_per_request=10, http_seconds=1)

    rate, rss = email_figures.figures(plan, small=small)

    assert sent == sends
    assert rate.extra["emails"] == sends[0] and len(rate.samples) == 2
    assert rss.name == rss_name
    assert len(rss.samples) == len(rss.baseline_samples) == (2 if small else 1)
    assert rss.extra["emails"] == ([2_000, 4_000] if small else [50_000, 100_000])
