"""Seed an embedded metadata store with users and their files through the service's code."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.wiring.videos import ensure_video_indexes as ensure_indexes
from services.core.names import new_object_name
from services.storage.documents import open_embedded_database

FILES_PER_USER = 3
BATCH = 1000
GIB = 1024**3


def user_id(index: int) -> str:
    """The id of the index-th seeded user."""
    return f"bench-user-{index:06d}"


def seed_users(data_dir: Path, users: int, seed: int, database: str = "mediastore") -> list[str]:
    """Write `users` accounts with FILES_PER_USER stored files each; return their ids."""
    rng = random.Random(seed)
    db = open_embedded_database(data_dir / "metadata", database)
    try:
        ensure_indexes(db)
        ids = [user_id(i) for i in range(users)]
        for start in range(0, users, BATCH):
            accounts, files = [], []
            for uid in ids[start : start + BATCH]:
                owned = [_file(uid, n, rng) for n in range(FILES_PER_USER)]
                used = sum(doc["size"] for doc in owned)
                accounts.append(
                    {"_id": uid, "quota_bytes": GIB, "used_bytes": used, "bandwidth": {}}
                )
                files.extend(owned)
            db["accounts"].insert_many(accounts)
            db["files"].insert_many(files)
        return ids
    finally:
        db.close()


def _file(owner: str, number: int, rng: random.Random) -> dict:
    size = rng.randrange(1_000_000, 50_000_000)
    return {
        "_id": f"{owner}-{number}",
        "owner": owner,
        "filename": f"video-{number}.mp4",
        "state": "stored",
        "size": size,
        "content_type": "video/mp4",
        "generation": str(rng.randrange(10**15, 10**16)),
        "object_name": new_object_name("videos", owner),
        "uploaded_at": datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**7)),
    }


def seed_library(data_dir: Path, owner: str, files: int, seed: int, database: str = "mediastore"):
    """Write one account holding `files` stored files (names video-000000.mp4 and on)."""
    rng = random.Random(seed)
    db = open_embedded_database(data_dir / "metadata", database)
    try:
        ensure_indexes(db)
        owned = [_file(owner, n, rng) for n in range(files)]
        for doc in owned:
            doc["filename"] = f"video-{int(doc['_id'].rsplit('-', 1)[1]):06d}.mp4"
        used = sum(doc["size"] for doc in owned)
        db["accounts"].insert_one(
            {"_id": owner, "quota_bytes": GIB * files, "used_bytes": used, "bandwidth": {}}
        )
        for start in range(0, files, BATCH):
            db["files"].insert_many(owned[start : start + BATCH])
    finally:
        db.close()
