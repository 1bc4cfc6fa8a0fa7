"""The warehouse's SQLAlchemy metadata, shared by every table module."""

import sqlalchemy as sa

WAREHOUSE = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)
