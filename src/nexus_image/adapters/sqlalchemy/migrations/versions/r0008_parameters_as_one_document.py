"""A job's generation parameters as one JSON document (`parameters`, what the domain's
`GenerationParameters.to_dict` writes), instead of one column per field; `resolution` stays a
column because the monitoring views group by it. Existing rows are carried over in SQL, in
one statement per table; the downgrade spreads the document back into its columns.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The columns of 0007 that the document replaces, as 0007 made them: (name, type, nullable,
# SQLite's default for a NOT NULL column added back to filled rows).
COLUMNS: list[tuple[str, Any, bool, str]] = [
    ("prompt", sa.Text(), False, "''"),
    ("negative_prompt", sa.Text(), False, "''"),
    ("style", sa.String(16), False, "'realistic'"),
    ("seed", sa.BigInteger(), False, "0"),
    ("steps", sa.Integer(), False, "1"),
    ("guidance", sa.Float(), False, "7"),
    ("scheduler", sa.String(32), False, "'dpmpp_2m_karras'"),
    ("variation_seed", sa.BigInteger(), True, ""),
    ("variation_strength", sa.Float(), False, "0"),
    ("init_image_id", sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql"), True, ""),
    ("mask_image_id", sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql"), True, ""),
    ("strength", sa.Float(), True, ""),
    ("loras", sa.JSON().with_variant(JSONB(), "postgresql"), True, ""),
]
SCALARS = [name for name, *_ in COLUMNS if name != "loras"] + ["resolution"]
FLOATS = {"guidance", "variation_strength", "strength"}


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():
        op.add_column("jobs", sa.Column("parameters", JSONB(), nullable=True))
        pairs = ", ".join(f"'{name}', {name}" for name in SCALARS)
        op.execute(
            "UPDATE jobs SET parameters = jsonb_build_object("
            f"{pairs}, 'loras', CASE WHEN loras IS NULL OR loras = 'null'::jsonb "
            "THEN '[]'::jsonb ELSE loras END)"
        )
        op.alter_column("jobs", "parameters", nullable=False)
    else:
        # SQLite adds a NOT NULL column only with a default; every row is filled at once.
        op.add_column(
            "jobs", sa.Column("parameters", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        # json_object writes REAL values with 15 digits; 17 give back the stored double exactly.
        pairs = ", ".join(
            f"'{name}', CASE WHEN {name} IS NULL THEN NULL ELSE json(printf('%!.17g', {name})) END"
            if name in FLOATS
            else f"'{name}', {name}"
            for name in SCALARS
        )
        op.execute(
            f"UPDATE jobs SET parameters = json_object({pairs}, 'loras', "
            "CASE WHEN loras IS NULL OR loras = 'null' THEN json('[]') ELSE json(loras) END)"
        )
    for name, *_ in COLUMNS:
        op.drop_column("jobs", name)


def downgrade() -> None:
    postgres = _postgres()
    for name, kind, nullable, default in COLUMNS:
        if nullable or postgres:
            op.add_column("jobs", sa.Column(name, kind, nullable=True))
        else:
            op.add_column("jobs", sa.Column(name, kind, nullable=False, server_default=sa.text(default)))
    if postgres:
        casts = {"seed": "bigint", "variation_seed": "bigint", "steps": "integer"}
        sets = []
        for name, *_ in COLUMNS:
            if name == "loras":
                sets.append("loras = parameters -> 'loras'")
            elif name in casts:
                sets.append(f"{name} = (parameters ->> '{name}')::{casts[name]}")
            elif name in FLOATS:
                sets.append(f"{name} = (parameters ->> '{name}')::double precision")
            else:
                sets.append(f"{name} = parameters ->> '{name}'")
        op.execute(f"UPDATE jobs SET {', '.join(sets)}")
        op.execute("UPDATE jobs SET variation_strength = 0 WHERE variation_strength IS NULL")
        for name, _kind, nullable, _default in COLUMNS:
            if not nullable:
                op.alter_column("jobs", name, nullable=False)
        op.alter_column("jobs", "variation_strength", server_default=sa.text("0"))
    else:
        sets = [
            "loras = json_extract(parameters, '$.loras')"
            if name == "loras"
            else f"{name} = json_extract(parameters, '$.{name}')"
            for name, *_ in COLUMNS
        ]
        op.execute(f"UPDATE jobs SET {', '.join(sets)}")
    op.drop_column("jobs", "parameters")
