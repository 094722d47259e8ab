"""``ferryman register`` and ``ferryman predict``: model files in, predictions out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ferryman.cli.context import (
    NaValuesOpt,
    TolerateOpt,
    parse_na_values,
    parse_numbers,
    parse_pairs,
    parse_tolerance,
    plural,
    registry,
)
from ferryman.cli.output import console, print_json
from ferryman.errors import InvalidInputError


def register(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Model file: skops, ONNX, XGBoost or LightGBM.")],
    name: Annotated[str, typer.Option("--name", help="Model name.")],
    flavor: Annotated[
        str | None, typer.Option(help="sklearn, xgboost, lightgbm or onnx; guessed if not given.")
    ] = None,
    train_data: Annotated[
        Path | None, typer.Option(help="Training data (CSV or Parquet) for signature and profile.")
    ] = None,
    target: Annotated[str | None, typer.Option(help="Target column in the training data.")] = None,
    validation_data: Annotated[
        Path | None,
        typer.Option(
            help="Held-out rows (CSV or Parquet) the model was not fitted on: the reference "
            "for prediction drift."
        ),
    ] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="NAME=NUMBER.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="NAME=VALUE.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE.")] = None,
    description: Annotated[str, typer.Option(help="What this version is.")] = "",
    trust: Annotated[
        list[str] | None, typer.Option("--trust", help="A type the skops file may load.")
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            help="COLUMN=text or COLUMN=category: the kind of a text column of the training "
            "data, instead of the inferred one.",
        ),
    ] = None,
    alias: Annotated[
        list[str] | None,
        typer.Option("--alias", help="Point this alias at the new version, e.g. production."),
    ] = None,
    tolerate: TolerateOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Register a model file saved outside ferryman as the next version of NAME.

    With --train-data the model is tried on unknown categories and unseen nulls, and what it
    copes with is recorded per column (--tolerate overrides it; see docs/schema.md).
    """
    if target is not None and train_data is None:
        raise typer.BadParameter("--target needs --train-data")
    if tolerate and train_data is None:
        raise typer.BadParameter("--tolerate needs --train-data")
    if validation_data is not None and train_data is None:
        raise typer.BadParameter("--validation-data needs --train-data")
    if kind and train_data is None:
        raise typer.BadParameter("--kind needs --train-data")
    reg = registry(ctx, create=True)
    version = reg.register_file(
        file,
        name,
        flavor=flavor,
        train_data=train_data,
        target=target,
        validation_data=validation_data,
        metrics=parse_numbers(metric),
        params=parse_pairs(param, "param"),
        tags=parse_pairs(tag, "tag"),
        description=description,
        aliases=alias or [],
        trusted_types=trust or [],
        tolerate=parse_tolerance(tolerate),
        kinds=parse_pairs(kind, "--kind"),
    )
    if json_output:
        print_json(version)
        return
    console.print(
        f"registered {version.ref} ({version.flavor}, sha256:{version.artifact_sha256[:12]})"
    )


def predict(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="name, name@alias or name/3")],
    input: Annotated[Path, typer.Option("--input", "-i", help="CSV or Parquet file.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="CSV or Parquet file; stdout if not given."),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", help="Input column to copy into the output, e.g. an id."),
    ] = None,
    trust: Annotated[
        list[str] | None, typer.Option("--trust", help="A type the skops file may load.")
    ] = None,
    na_values: NaValuesOpt = None,
) -> None:
    """Predict with a version on a file; prints CSV to stdout unless --output is given.

    The model's target column is ignored; other extra columns are refused unless given to --keep.
    --keep copies input columns (such as an id) into the output beside the predictions.
    A file with any row that breaks the signature is refused whole, naming each bad cell.
    `ferryman score` predicts on the good rows and sets the bad ones aside with reasons.
    """
    # pandas and the file readers load with this command, not with every ``ferryman`` start
    import pandas as pd

    from ferryman.schema import read_input, write_table

    reg = registry(ctx)
    model = reg.load(ref, trust or [])
    signature = model.signature
    data = read_input(input, signature, parse_na_values(na_values))
    kept = list(dict.fromkeys(keep or []))
    missing = [c for c in kept if c not in data.columns]
    if missing:
        raise typer.BadParameter(f"--keep names columns the input lacks: {', '.join(missing)}")
    taken = [c for c in kept if c == "prediction" or c.startswith("proba_")]
    if taken:
        raise typer.BadParameter(f"--keep cannot copy {', '.join(taken)}: the output has them")
    names = signature.names if signature is not None else model.predictor.feature_names
    if kept and names is None:
        raise typer.BadParameter(
            f"{model.version.ref} has no signature and records no column names, so --keep "
            "cannot tell copied columns from features; register it with training data"
        )
    try:
        result = model.predict_frame(data.drop(columns=[c for c in kept if c not in (names or [])]))
    except InvalidInputError as exc:
        raise _refused_rows(exc, input, str(model.version.ref), len(data)) from exc
    if kept:
        result = pd.concat(
            [data[kept].reset_index(drop=True), result.reset_index(drop=True)], axis=1
        )
    if output is None:
        result.to_csv(sys.stdout, index=False)
        return
    write_table(result, output)
    console.print(f"wrote {plural(len(result), 'prediction')} of {model.version.ref} to {output}")


def _refused_rows(error: InvalidInputError, input: Path, ref: str, rows: int) -> InvalidInputError:
    """Why a file is refused, and what scores its good rows: ``ferryman score``."""
    bad = {getattr(p, "row", None) for p in error.problems} - {None}
    if not bad:
        return error  # a whole column is wrong: the message already names it
    return InvalidInputError(
        f"{input} has {plural(len(bad), 'bad row')} (of {rows:,}), so predict wrote nothing: "
        f"{error}. Rows count from 0 after the header. To predict on the other rows and set "
        f"these aside with reasons: ferryman score {ref} {input} -o OUTPUT",
        error.problems,
    )
