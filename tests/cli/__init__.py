"""Tests of bot/cli/: the terminal conversation and the command line."""
