"""Loopback fakes of Slack, for the tests and the benchmarks alike (as `django.test` ships
with Django): the Web API (`slack_api`, with its OAuth side in `slack_oauth`), Socket Mode
(`socket_mode`), and requests signed and sent as Slack sends them (`slack_requests`,
`slack_client`).

Why in `bot/` and not under `tests/`: `bench/` drives the real app against the same fakes,
and a benchmark that imports the test suite depends on its layout and its conftest
side effects. Both now import `bot.testing`; nothing in the running app imports it, and it
needs nothing beyond the standard library. Everything here listens on 127.0.0.1 only.
"""
