"""Loopback fakes of Slack, shared by the tests and the benchmarks: the Web API
(`slack_api`), Socket Mode (`socket_mode`), and signed requests as Slack sends them
(`slack_requests`). Import them as `tests.fakes.…` from the repository root."""
