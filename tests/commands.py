"""Reading what a `backroom` command said, in the tests of every command group."""


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result, message: str) -> None:
    """Refused with exit status 2, the one sentence on stderr, and no traceback."""
    assert result.exit_code == 2, result.output
    assert f"Error: {message}" in result.stderr
    assert "Traceback" not in result.output
