"""Register derivations on Spark straight from Parquet: for data beyond one machine.

:func:`evaluate.data.stream.derive_parquet` with a Spark engine lands here.  Spark
reads the files itself (nothing passes through one process until the small
results), and the derivation is the one of :mod:`evaluate.data.derive`:

1. **Plan** on the cluster: missing values per column, the distinct weeks (the
   data window) and the distinct municipalities; only these small lists reach
   the driver.
2. **Per person bucket** (``applyInPandas`` over ``xxhash64(person) mod buckets``,
   so every person's weeks meet in one call, whatever file they are in): the
   unchanged :func:`~evaluate.data.register.prepare_records` (validation,
   repairs) and the summarising kernel of :mod:`evaluate.data.kernel`.  Its
   partial tables leave the bucket as one long frame with a ``kind`` column,
   keyed by global municipality codes and the original person ids.
3. **Combine** on the cluster with the same SQL text as every other engine
   (:data:`~evaluate.data.derive.SPELLS_SQL`, ``FTP_SQL``, ``TRANSITIONS_SQL``),
   then label on the driver exactly as the DuckDB path does.

Validation errors raised in a bucket come back as the same
:class:`~evaluate.errors.DataError` with the same message.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data.derive import (
    FTP_SQL,
    SPELLS_SQL,
    TRANSITIONS_SQL,
    RegisterDerivation,
    label_flows,
    label_ftp,
    label_spells,
    municipality_union,
    summary_kernel,
)
from evaluate.data.register import StatusCodes, iso_week_index, iso_week_label, prepare_records
from evaluate.errors import DataError

#: Columns of the long frame of partial tables (``kind``: spell, ftp, flow, repair).
_LONG = ("benefit", "to_benefit", "start_week", "end_week", "municipality", "month",
         "person_weeks", "refusion_ppm", "flows", "n")  # fmt: skip


def derive_parquet_spark(
    files: list[str],
    *,
    engine: Any,
    person: str,
    week: str,
    status: str,
    municipality: str | None,
    codes: StatusCodes,
    refusion: Any,
    rule: Any,
    gaps: str,
    last_valid_week: object | None,
) -> RegisterDerivation:
    """See :func:`evaluate.data.stream.derive_parquet` (``engine`` a SparkEngine)."""
    from pyspark.sql import functions as F

    spark = engine.session
    sdf = spark.read.parquet(*files)
    cols = [person, week, status] + ([municipality] if municipality else [])
    missing = [c for c in cols if c not in sdf.columns]
    if missing:
        raise DataError(
            f"Column {missing[0]!r} is not in the Parquet files; they have "
            f"{', '.join(sdf.columns)}."
        )
    sdf = sdf.select(*cols)
    nulls = sdf.select([F.sum(F.col(c).isNull().cast("long")).alias(c) for c in cols]).first()
    for c in cols:
        if nulls[c]:
            raise DataError(f"Column {c!r} has {nulls[c]} missing values; fill or remove them.")
    weeks = sdf.select(week).distinct().toPandas()[week].to_numpy()
    if weeks.size == 0:
        raise DataError(f"The Parquet files {files[:3]} have no rows.")
    wk = iso_week_index(weeks, column=week)
    first, last = int(wk.min()), int(wk.max())
    window = (int(iso_week_label(first)), int(iso_week_label(last)))
    if municipality:
        labels = sdf.select(municipality).distinct().toPandas()[municipality].to_numpy()
        municipalities = municipality_union([labels])
    else:
        municipalities = np.array(["all"], dtype=object)
    kernel = summary_kernel(codes.benefits, refusion, rule, window=(first, last), workers=1)
    id_type = sdf.schema[person].dataType

    def run(part: pd.DataFrame) -> pd.DataFrame:
        # Ordered as the DuckDB path reads its chunks (ORDER BY person, week).
        part = part.drop(columns="_bucket").sort_values([person, week], kind="stable")
        records = prepare_records(
            part.reset_index(drop=True), person=person, week=week, status=status,
            municipality=municipality, codes=codes, window=window,
            last_valid_week=last_valid_week, gaps=gaps,
        )  # fmt: skip
        frame = records.kernel_frame()
        parts = kernel(frame)
        to_global = pd.Index(municipalities).get_indexer(records.municipalities)
        return _long(parts, records, to_global)

    schema = f"kind string, person {id_type.simpleString()}, repair string, " + ", ".join(
        f"{c} long" for c in _LONG
    )
    bucket = F.pmod(F.xxhash64(F.col(person)), F.lit(engine.buckets))
    long = sdf.withColumn("_bucket", bucket).groupBy("_bucket").applyInPandas(run, schema=schema)
    long = long.cache()
    try:
        views = {
            "spells": "SELECT person, benefit, start_week, end_week FROM register_parts "
            "WHERE kind = 'spell'",
            "ftp_cells": "SELECT municipality, month, benefit, person_weeks, refusion_ppm "
            "FROM register_parts WHERE kind = 'ftp'",
            "flow_cells": "SELECT municipality, month, benefit AS from_benefit, to_benefit, "
            "flows FROM register_parts WHERE kind = 'flow'",
        }
        long.createOrReplaceTempView("register_parts")
        for name, query in views.items():
            spark.sql(query).createOrReplaceTempView(name)
        spells = _collect(spark, SPELLS_SQL.format(first_week=first, last_week=last))
        ftp = _collect(spark, FTP_SQL)
        flows = _collect(spark, TRANSITIONS_SQL)
        repairs = _collect(
            spark,
            "SELECT repair, CAST(SUM(n) AS BIGINT) AS n FROM register_parts "
            "WHERE kind = 'repair' GROUP BY repair",
        )
    finally:
        long.unpersist()
    # Spells carry the original ids: code them in sorted id order, as the DuckDB path.
    codes_, ids = pd.factorize(spells["person"], sort=True)
    spells = spells.assign(person=codes_)
    counts = dict(zip(repairs["repair"], repairs["n"].astype(int), strict=True))
    n_rows = int(counts.pop("rows", 0))
    return RegisterDerivation(
        spells=label_spells(spells, codes.benefits, np.asarray(ids)),
        ftp=label_ftp(ftp, codes.benefits, municipalities, (first, last)),
        transitions=label_flows(flows, codes.benefits, municipalities),
        benefits=codes.benefits,
        municipalities=municipalities,
        window=(first, last),
        rule=rule,
        engine=engine.name,
        n_rows=n_rows,
        repairs={k: v for k, v in sorted(counts.items()) if v},
        person_weeks=None,
    )


def _long(parts: dict[str, pd.DataFrame], records: Any, to_global: np.ndarray) -> pd.DataFrame:
    """The kernel's partial tables of one bucket as one long frame (see ``_LONG``)."""
    sp, ftp, fl = parts["spells"], parts["ftp_cells"], parts["flow_cells"]
    pieces = [
        pd.DataFrame(
            {
                "kind": "spell",
                "person": records.person_ids[sp["person"].to_numpy("int64")],
                "benefit": sp["benefit"],
                "start_week": sp["start_week"],
                "end_week": sp["end_week"],
            }
        ),
        pd.DataFrame(
            {
                "kind": "ftp",
                "municipality": to_global[ftp["municipality"].to_numpy("int64")],
                "month": ftp["month"],
                "benefit": ftp["benefit"],
                "person_weeks": ftp["person_weeks"],
                "refusion_ppm": ftp["refusion_ppm"],
            }
        ),
        pd.DataFrame(
            {
                "kind": "flow",
                "municipality": to_global[fl["municipality"].to_numpy("int64")],
                "month": fl["month"],
                "benefit": fl["from_benefit"],
                "to_benefit": fl["to_benefit"],
                "flows": fl["flows"],
            }
        ),
        pd.DataFrame(
            {
                "kind": "repair",
                "repair": ["rows", *records.repairs],
                "n": [records.n_rows, *records.repairs.values()],
            }
        ),
    ]
    out = pd.concat([p for p in pieces if len(p)], ignore_index=True)
    out = out.reindex(columns=["kind", "person", "repair", *_LONG])
    for c in _LONG:
        out[c] = out[c].astype("Int64")
    # Plain object strings: Spark's Arrow writer takes neither pandas' Arrow-backed
    # string columns (chunked arrays) nor mixed missing markers.
    for c in ("kind", "repair"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    person = out["person"]  # missing on the rows that are not spells
    if records.person_ids.dtype.kind in "iu":
        out["person"] = person.astype("Int64")
    else:
        out["person"] = person.astype(object).where(person.notna(), None)
    return out


def _collect(spark: Any, query: str) -> pd.DataFrame:
    """Run ``query``; a DataError raised in a bucket surfaces as that DataError."""
    try:
        return spark.sql(query).toPandas()
    except Exception as err:  # noqa: BLE001 - re-raised unless it carries our DataError
        found = re.search(r"DataError: (.+)", str(err))
        if found:
            raise DataError(found.group(1).strip()) from None
        raise
