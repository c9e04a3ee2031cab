"""`deskterm completion bash|zsh|fish`: click's own completion script, for one install line.

The script is exactly what `_DESKTERM_COMPLETE=<shell>_source deskterm` prints; it asks
`deskterm` itself for the completions at each Tab, so it never goes stale when commands change.
"""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_DESKTERM_COMPLETE"


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL (click's own). Install it with one line
    (for fish, make the folder first where it is missing):

    \b
      bash: deskterm completion bash >> ~/.bashrc
      zsh:  deskterm completion zsh >> ~/.zshrc   (after compinit)
      fish: deskterm completion fish > ~/.config/fish/completions/deskterm.fish
    """
    # Here, not at the top: every `deskterm` imports this module (click loads its completion
    # code by itself when a shell asks for completions).
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # click ships all three
    # As click prints it for `_DESKTERM_COMPLETE=<shell>_source deskterm`: as is.
    click.echo(cls(ctx.find_root().command, {}, "deskterm", COMPLETE_VAR).source(), nl=False)
