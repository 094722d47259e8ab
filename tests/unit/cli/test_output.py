"""The CLI's table helper: a number is never split across lines, however narrow the console."""

from __future__ import annotations

from rich.console import Console

from ferryman.cli.output import console, heading, table

ROW = ("3", "sklearn", "production", "accuracy=0.944123, roc_auc=0.991234", "2026-12-07 17:54:58")


def rendered(width: int) -> list[str]:
    out = table("version", "flavor", "aliases", "metrics", "created")
    for _ in range(3):
        out.add_row(*ROW)
    console = Console(width=width, highlight=False, markup=False, soft_wrap=True)
    with console.capture() as captured:
        console.print(out)
    return captured.get().splitlines()


def test_numbers_stay_whole_while_text_folds_to_fit() -> None:
    lines = rendered(60)
    assert max(len(line) for line in lines) <= 60
    for word in ("accuracy=0.944123,", "roc_auc=0.991234", "2026-12-07", "17:54:58"):
        assert sum(word in line for line in lines) == 3, (word, "\n".join(lines))


def test_numbers_wider_than_the_console_print_whole_rather_than_split() -> None:
    lines = rendered(30)
    assert sum("accuracy=0.944123," in line for line in lines) == 3, "\n".join(lines)


def test_user_text_prints_as_written_emoji_codes_included() -> None:
    with console.capture() as captured:
        console.print("hot :fire: model")
        heading("churn", "v2 :smile:")
    assert captured.get().splitlines() == ["hot :fire: model", "churn  v2 :smile:"]
