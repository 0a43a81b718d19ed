"""The metadata of every domain's tables, for migrations and schema checks."""
import fse_fad.models  # noqa: F401  (registers the tables)
import lrs.models  # noqa: F401
import courses.models  # noqa: F401
import ecm.models  # noqa: F401
import dashboard.models  # noqa: F401
from fse_fad.db import Base

target_metadata = Base.metadata
