"""Bounds on what a user may send, in one place, so every reader and both backends agree.

Every string a user gives doseflow is stored somewhere (a ledger row, a report value, an
audit entry), and the ledger is append-only: an unbounded field is a permanent cost for
every later reader. These are the documented maxima (docs/security.md lists them); the
readers of users' files and the service refuse anything beyond them with a coded error
before anything is written, on SQLite exactly as on PostgreSQL (whose column widths below
are the same numbers).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

#: Largest document (YAML or JSON text: a scenario, network, deployment, report or impact
#: file) read from a request or a file, in bytes.
MAX_DOCUMENT_BYTES: Final = 2_000_000

#: Most rows below the header of a table a user gives (a participants CSV or Excel sheet).
#: A real participants table has at most one row per country (about 240).
MAX_TABLE_ROWS: Final = 10_000

#: Deepest nesting of mappings and lists in a document. Real files nest 4-6 deep.
MAX_DOCUMENT_DEPTH: Final = 32

#: Largest request body the service reads, in bytes (a ledger batch of 50,000 events fits).
MAX_REQUEST_BYTES: Final = 32 * 1024 * 1024

#: Identifiers a user chooses: event ids, plan references.
MAX_ID_LENGTH: Final = 200

#: Shipment ids (the ledger's shipment column is this wide).
MAX_SHIPMENT_ID_LENGTH: Final = 100

#: User names: who recorded, stored, locked or submitted something (the width of every
#: who-did-it column and of the service's user names).
MAX_USER_LENGTH: Final = 100

#: Codes of nodes, products, data elements and org units.
MAX_CODE_LENGTH: Final = 64

#: Lot (batch) numbers as printed on the pack.
MAX_LOT_LENGTH: Final = 100

#: Reporting periods as written (2021W23, 202106, 2021Q2, 2021-09-01/P1M).
MAX_PERIOD_LENGTH: Final = 16

#: People's and things' names (users, scenarios, rounds, regions, donors).
MAX_NAME_LENGTH: Final = 200

#: Free text: reasons, notes, comments.
MAX_TEXT_LENGTH: Final = 500

#: Largest quantity of doses (or vials, packs, people) in one value: a trillion, far above
#: any real figure (the world's population is about 8 billion) and far below 2**63, so no
#: sum of a few values can wrap in a 64-bit column.
MAX_QUANTITY: Final = 10**12

#: Highest allocation round number (rounds are numbered from 1; stored as 32-bit integers).
MAX_ROUND_NUMBER: Final = 10_000

#: Largest balance the ledger stores (a signed 64-bit column). No user value comes near it;
#: the balance check refuses a batch that would pass it rather than let a sum wrap.
MAX_STORED_BALANCE: Final = 2**63 - 1

#: Dates a user may give for events, periods and plans: the programme era, with room.
EARLIEST_DATE: Final = date(2000, 1, 1)
LATEST_DATE: Final = date(2099, 12, 31)

#: How far after the server's clock a client may say an event occurred: clocks of phones and
#: laptops in the field run a little ahead. Anything later is refused as in the future.
MAX_CLOCK_SKEW: Final = timedelta(minutes=5)
#: Background jobs (impact runs) one user may have queued or running at once. A job holds a
#: worker for seconds to minutes; more than a few per person only queues behind itself.
MAX_ACTIVE_JOBS_PER_USER: Final = 3

#: Background jobs queued or running at once, all users together, on one database (shared by
#: every server process). Past this a submission is refused with 429 rather than queued
#: for hours.
MAX_ACTIVE_JOBS: Final = 20

#: Most problems one refusal lists. A 32 MiB body can hold millions of bad values; past this
#: the answer says how many more there were instead of listing them (the first ones found,
#: sorted by line, are the ones a user fixes first).
MAX_REPORTED_ERRORS: Final = 1_000
