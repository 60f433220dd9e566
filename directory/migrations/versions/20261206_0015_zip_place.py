"""zip_place: US ZIP centres, states and time zones, once in the database (not in every worker)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 14:30:00
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

from directory.geo import package_table

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POINT = "ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)::geography"
COPY = "COPY zip_place (zip5, state, timezone, latitude, longitude) FROM STDIN"


def upgrade() -> None:
    op.create_table(
        "zip_place",
        sa.Column("zip5", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column(
            "point",
            geoalchemy2.types.Geography(
                geometry_type="POINT", srid=4326, spatial_index=False, from_text="ST_GeogFromText"
            ),
            sa.Computed(POINT, persisted=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("zip5", name=op.f("pk_zip_place")),
    )
    # 41,917 rows in one COPY (1.1 s in all); the package is read by a child (directory.geo).
    table = package_table()
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(COPY) as copy:
        copy.write(table)
    op.create_index("ix_zip_place_point", "zip_place", ["point"], postgresql_using="gist")
    op.execute("ANALYZE zip_place")


def downgrade() -> None:
    op.drop_index("ix_zip_place_point", table_name="zip_place", postgresql_using="gist")
    op.drop_table("zip_place")
