"""SQLAlchemy 2 typed ORM models. Import every model module here so Base.metadata is complete."""
from .base import Base
from .core import Area, AreaRing, Console, Meta, Room, User  # noqa: F401
from .incidents import Incident, IncidentLog, UrnCounter
from .records import AuditLog, Event
from .resources import TalkGroup, Unit
from .despatch import Assignment, UnitStatusLog  # noqa: F401  (issue 6)
from .rooms import AreaTransfer, RoomPresence  # noqa: F401  (issue 9)
from .incident_records import GazetteerPlace, IncidentBreach, IncidentLink, IncidentThrive  # noqa: F401  (issue 4)
from .talkgroups import TalkGroupAllocation, TalkGroupPatch, TalkGroupTransmission  # noqa: F401  (issue 7)
from .training import TrainingUnitBaseline  # noqa: F401  (issue 10)
from .command import ArmedAuthorisation, CommandRole, DecisionLogEntry, MethaneReport  # noqa: F401  (issue 8)
from .contacts import Contact, ContactHourly  # noqa: F401  (issue 11)
from .records_exchange import IncidentPartnerRef, QaReview  # noqa: F401  (issue 12)
from .replay import ReplaySnapshot  # noqa: F401  (issue 13)
from .standards import GradeSignoff, IncidentPrompt, VictimPromise  # noqa: F401  (issue 14)
from .functions import (IntelCheck, RecoveryJob, RecoveryOffer, RecoveryOperator, RefDocument,  # noqa: F401
                        RefDocumentLink, RefDocumentVersion, WorkforcePlan)  # (issue 23)
from .alerts import Alert, AlertPolicy, WelfarePolicy, WelfareSingleCrewed  # noqa: F401  (issue 20)
from .core import Policy  # noqa: F401  (0035)
from .records import CrRequest, EventHead  # noqa: F401  (0015, 0033)
from .despatch import DespatchPolicy  # noqa: F401  (0022)
from .resources import SimLease  # noqa: F401  (0025)
from .geodata import Address, GeoConfig, Postcode, RoadEdge, RoadNode  # noqa: F401  (issue 22)

__all__ = ["Base", "Area", "Console", "Meta", "Room", "User", "Incident", "IncidentLog",
           "UrnCounter", "AuditLog", "Event", "TalkGroup", "Unit"]
