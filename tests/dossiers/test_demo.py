import time
from datetime import datetime

from dossiers.services.demo import demo_seed
from dossiers.sla import VN_TZ


def test_x(db):
    t = time.time()
    s = demo_seed(dossiers=40, now=datetime(2025, 6, 2, 9, tzinfo=VN_TZ))
    print(s, time.time() - t)
    t = time.time()
    s = demo_seed(dossiers=40)
    print(s, time.time() - t)
