"""Datasets: the synthetic platform's generative model, and the real-data loaders (offline)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from reelrec.data import Interactions, VideoEventWeights
from reelrec.datasets import _fetch, load_lastfm, load_movielens, synthetic_video_platform

# ------------------------------------------------------------------ synthetic


@pytest.fixture(scope="module")
def platform():
    return synthetic_video_platform(seed=0)


def test_synthetic_shapes_and_metadata(platform):
    data = platform.interactions
    assert data.shape == (2000, 1000)
    np.testing.assert_array_equal(data.user_ids, np.arange(2000))
    assert data.timestamps is not None and data.timestamps.size == data.nnz
    assert set(data.item_metadata) == {
        "title",
        "tags",
        "topic",
        "topic_name",
        "duration",
        "upload_day",
    }
    assert set(data.user_metadata) == {"device"}
    assert set(data.user_metadata["device"]) <= set(platform.devices)
    assert all(isinstance(t, str) and t for t in data.item_metadata["title"])
    frame = data.item_frame()
    assert len(frame) == 1000 and frame["tags"].str.len().min() > 0
    assert frame["topic_name"].tolist() == [platform.topic_names[k] for k in platform.video_topics]
    np.testing.assert_allclose(platform.user_tastes.sum(axis=1), 1.0)
    assert platform.video_topics.shape == (1000,)
    events = platform.events_frame()
    assert len(events) == platform.events["user"].size > 0
    assert {
        "user",
        "item",
        "timestamp",
        "watch_time",
        "duration",
        "liked",
        "shared",
        "skipped",
        "device",
    } <= set(events)
    assert set(events["device"].astype(str)) <= set(platform.devices)
    assert "n_events=" in repr(platform)


def test_synthetic_is_seeded(platform):
    again = synthetic_video_platform(seed=0)
    for key, values in platform.events.items():
        np.testing.assert_array_equal(again.events[key], values)
    np.testing.assert_array_equal(again.interactions.matrix.data, platform.interactions.matrix.data)
    other = synthetic_video_platform(seed=1)
    assert not np.array_equal(other.user_tastes, platform.user_tastes)


def test_synthetic_interactions_are_the_weighted_events(platform):
    rebuilt = Interactions.from_events(
        platform.events, item_col="item", user_ids=np.arange(2000), item_ids=np.arange(1000)
    )
    np.testing.assert_array_equal(rebuilt.matrix.indptr, platform.interactions.matrix.indptr)
    np.testing.assert_array_equal(rebuilt.matrix.indices, platform.interactions.matrix.indices)
    np.testing.assert_allclose(rebuilt.matrix.data, platform.interactions.matrix.data, rtol=1e-6)
    np.testing.assert_array_equal(rebuilt.timestamps, platform.interactions.timestamps)


def test_synthetic_events_respect_uploads_and_cold_start(platform):
    ev = platform.events
    # no video is shown before it is uploaded
    assert (ev["timestamp"] / 86400.0 >= platform.video_upload_time[ev["item"]] - 1e-9).all()
    counts = platform.interactions.item_counts()
    late = platform.video_upload_time > platform.n_days - 2
    assert late.any() and (counts[late] == 0).any()
    assert counts[late].mean() < 0.2 * counts[platform.video_upload_time < 0].mean()
    # popularity is long-tailed: the top 10% of videos get a large share of impressions
    shown = np.bincount(ev["item"], minlength=1000)
    assert np.sort(shown)[::-1][:100].sum() > 0.35 * shown.sum()


def test_synthetic_response_model(platform):
    ev = platform.events
    np.testing.assert_array_equal(ev["skipped"], ev["completion"] < 0.1)
    np.testing.assert_allclose(ev["watch_time"], ev["completion"] * ev["duration"])
    assert (ev["completion"] >= 0).all() and (ev["completion"] <= 2).all()
    # the ground truth explains the log: observed completion tracks the preference
    pref = platform.preference(ev["user"][:20000], ev["item"][:20000], device=ev["device"][:20000])
    assert np.corrcoef(pref, ev["completion"][:20000])[0, 1] > 0.3
    assert abs(pref.mean() - ev["completion"][:20000].mean()) < 0.05


def test_preference_is_vectorised_and_consistent(platform):
    users = np.arange(50)
    items = np.arange(80)
    full = platform.preference(users[:, None], items[None, :])
    assert full.shape == (50, 80)
    np.testing.assert_allclose(full[7, 11], platform.preference(7, 11))
    mu = 1 / (1 + np.exp(-platform.affinity(users[:, None], items[None, :])))
    np.testing.assert_allclose(full, mu + 0.25 * mu**2)
    assert (full > 0).all() and (full < 1.25).all()
    tv = platform.preference(users[:, None], items[None, :], device="tv")
    assert tv.shape == (50, 80)
    like = platform.like_probability(users, users)
    assert like.shape == (50,) and ((like > 0) & (like < 1)).all()
    assert (platform.share_probability(users, users) < like).all()
    assert platform.available_items(-1000.0).sum() == 0
    assert platform.available_items(platform.n_days).all()


def test_sample_engagement_matches_preference_in_expectation(platform):
    users = np.repeat(np.arange(5), 4000)
    items = np.tile(np.array([3, 50, 400, 900]), 5000)
    out = platform.sample_engagement(users, items, rng=np.random.default_rng(0))
    assert set(out) == {"completion", "watch_time", "liked", "shared", "skipped", "confidence"}
    first = platform.sample_engagement(users, items, rng=0)
    second = platform.sample_engagement(users, items, rng=0)
    np.testing.assert_array_equal(first["completion"], second["completion"])
    expected = platform.preference(users, items)
    for pair in range(20):
        mask = (users == pair // 4) & (items == [3, 50, 400, 900][pair % 4])
        assert abs(out["completion"][mask].mean() - expected[mask][0]) < 0.05
    assert out["confidence"].min() >= VideoEventWeights().floor


def test_synthetic_bad_parameters(platform):
    with pytest.raises(ValueError, match="n_users: expected a positive finite value, got 0"):
        synthetic_video_platform(n_users=0)
    with pytest.raises(TypeError, match="n_videos: expected a positive integer"):
        synthetic_video_platform(n_videos=10.5)
    with pytest.raises(ValueError, match="explore: expected a value in"):
        synthetic_video_platform(explore=2.0)
    with pytest.raises(ValueError, match="impressions_per_session: expected a mean >= 1"):
        synthetic_video_platform(impressions_per_session=0.5)
    with pytest.raises(TypeError, match="weights: expected a VideoEventWeights"):
        synthetic_video_platform(weights={"like": 2})
    with pytest.raises(IndexError, match="users: index 2000 is out of range"):
        platform.preference([2000], [0])
    with pytest.raises(TypeError, match="items: expected integer video indices"):
        platform.preference([0], [0.5])
    with pytest.raises(ValueError, match="users, items: shapes"):
        platform.preference(np.arange(3), np.arange(4))
    with pytest.raises(ValueError, match="device: expected names among"):
        platform.preference([0], [0], device="watch")


def test_synthetic_small_and_many_topics():
    tiny = synthetic_video_platform(
        n_users=3, n_videos=2, n_topics=30, sessions_per_user=0.0, seed=5
    )
    assert tiny.interactions.shape == (3, 2) and tiny.interactions.nnz == 0
    assert tiny.topic_names[-1] == "topic29"


# ----------------------------------------------------------------- MovieLens
def test_movielens_100k(ml100k_path):
    data = load_movielens("100k", path=ml100k_path)
    assert data.shape == (943, 1682) and data.nnz == 100_000
    assert data.timestamps.min() == 874724710 and data.timestamps.max() == 893286638
    ratings = np.bincount(data.matrix.data.astype(int), minlength=6)
    assert ratings[1:].tolist() == [6110, 11370, 27145, 34174, 21201]
    toy = data.item_index(1)
    assert data.item_metadata["title"][toy] == "Toy Story (1995)"
    assert data.item_metadata["genres"][toy] == "Animation|Children's|Comedy"
    assert data.item_metadata["year"][toy] == 1995
    first = data.user_index(1)
    assert (
        data.user_metadata["age"][first] == 24
        and data.user_metadata["occupation"][first] == "technician"
    )
    # the parent folder works too
    assert load_movielens("100k", path=Path(ml100k_path).parent).nnz == 100_000


def write_1m(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "ratings.dat").write_text(
        "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n"
    )
    (folder / "movies.dat").write_bytes(
        "10::Caf\xe9 Society (1995)::Comedy|Drama\n20::Heat (1995)::Action\n30::Unrated (1999)::Drama\n".encode(
            "latin-1"
        )
    )
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")


def test_movielens_1m_format(tmp_path):
    write_1m(tmp_path / "ml-1m")
    data = load_movielens("1m", path=tmp_path)  # parent folder
    assert data.shape == (2, 2)
    np.testing.assert_array_equal(data.matrix.toarray(), [[5, 3], [4, 0]])
    np.testing.assert_array_equal(data.timestamps, [978300760, 978302109, 978301968])
    assert data.item_metadata["title"].tolist() == ["Café Society (1995)", "Heat (1995)"]
    assert data.item_metadata["genres"].tolist() == ["Comedy|Drama", "Action"]
    assert data.user_metadata["occupation"].tolist() == ["K-12 student", "self-employed"]
    assert data.user_metadata["age"].tolist() == [1, 56]


@pytest.mark.parametrize("variant", ["20m", "25m", "latest-small"])
def test_movielens_csv_formats(tmp_path, variant):
    folder = tmp_path / f"ml-{variant}"
    folder.mkdir()
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n7,1,0.5,964982224\n"
    )
    (folder / "movies.csv").write_text(
        'movieId,title,genres\n1,"American President, The (1995)",Comedy|Drama|Romance\n'
        "3,Untitled,(no genres listed)\n5,Never Rated (2001),Drama\n"
    )
    data = load_movielens(variant, path=folder)
    assert data.user_ids.tolist() == [1, 7] and data.item_ids.tolist() == [1, 3]
    np.testing.assert_array_equal(data.matrix.toarray(), [[4.0, 4.5], [0.5, 0.0]])
    assert data.item_metadata["title"].tolist() == ["American President, The (1995)", "Untitled"]
    assert data.item_metadata["genres"].tolist() == ["Comedy|Drama|Romance", ""]
    assert data.item_metadata["year"][0] == 1995 and np.isnan(data.item_metadata["year"][1])
    assert data.user_metadata == {}


def test_movielens_missing_files_message(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"expected ratings\.csv in .*empty.*download=True"):
        load_movielens("25m", path=tmp_path / "empty")
    monkeypatch.setenv("REELREC_DATA", str(tmp_path / "cache"))
    with pytest.raises(
        FileNotFoundError,
        match=r"cache.*ml-1m.*https://files.grouplens.org/datasets/movielens/ml-1m.zip",
    ):
        load_movielens("1m")
    write_1m(tmp_path / "cache" / "ml-1m")
    assert load_movielens("1m").nnz == 3  # found in $REELREC_DATA
    with pytest.raises(
        ValueError, match=r"variant: expected one of \['100k', '1m', '20m', '25m', 'latest-small'\]"
    ):
        load_movielens("10m")
    with pytest.raises(TypeError, match="download: expected a bool"):
        load_movielens("1m", download="yes")


def make_zip(path: Path, members: dict[str, str]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_verifies_and_unpacks_offline(tmp_path, monkeypatch):
    """download=True against a local file:// archive: nothing touches the network."""
    served = tmp_path / "served" / "ml-1m.zip"
    served.parent.mkdir()
    sha = make_zip(served, {"ml-1m/ratings.dat": "1::10::5::978300760\n"})
    monkeypatch.setitem(
        _fetch.ARCHIVES, "ml-1m", _fetch.Archive("ml-1m", served.as_uri(), sha256=sha)
    )
    cache = tmp_path / "cache"
    data = load_movielens("1m", download=True, cache_dir=cache)
    assert (
        data.nnz == 1
        and (cache / "ml-1m" / "ratings.dat").is_file()
        and (cache / "ml-1m.zip").is_file()
    )

    bad_cache = tmp_path / "bad"
    monkeypatch.setitem(
        _fetch.ARCHIVES, "ml-1m", _fetch.Archive("ml-1m", served.as_uri(), sha256="0" * 64)
    )
    with pytest.raises(OSError, match="SHA-256 mismatch"):
        load_movielens("1m", download=True, cache_dir=bad_cache)
    assert not any(bad_cache.iterdir())  # the corrupt download was removed

    evil = tmp_path / "served" / "evil.zip"
    evil_sha = make_zip(evil, {"../escape.txt": "x", "ml-1m/ratings.dat": "1::1::1::1\n"})
    monkeypatch.setitem(
        _fetch.ARCHIVES, "ml-1m", _fetch.Archive("ml-1m", evil.as_uri(), sha256=evil_sha)
    )
    with pytest.raises(OSError, match="refusing to extract unsafe member"):
        load_movielens("1m", download=True, cache_dir=tmp_path / "evil-cache")
    assert not (tmp_path / "escape.txt").exists()

    monkeypatch.setitem(
        _fetch.ARCHIVES,
        "ml-1m",
        _fetch.Archive("ml-1m", (tmp_path / "nowhere.zip").as_uri(), sha256=sha),
    )
    with pytest.raises(OSError, match="could not download"):
        load_movielens("1m", download=True, cache_dir=tmp_path / "offline")


def test_published_checksums_and_cache_dir(monkeypatch, tmp_path):
    for archive in _fetch.ARCHIVES.values():
        assert archive.url.startswith("https://files.grouplens.org/datasets/")
        assert archive.sha256 is not None and len(archive.sha256) == 64
        assert archive.md5 is None or len(archive.md5) == 32
    monkeypatch.delenv("REELREC_DATA", raising=False)
    assert _fetch.default_cache_dir() == Path.home() / ".cache" / "reelrec"
    monkeypatch.setenv("REELREC_DATA", str(tmp_path))
    assert _fetch.default_cache_dir() == tmp_path


def test_ml100k_member_checksums_match_shared_copy(ml100k_path):
    members = _fetch.ARCHIVES["ml-100k"].members
    for member, digest in members.items():
        data = (Path(ml100k_path) / Path(member).name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest


# -------------------------------------------------------------------- Last.fm
def test_lastfm_format(tmp_path):
    folder = tmp_path / "hetrec2011-lastfm-2k"
    folder.mkdir()
    (folder / "user_artists.dat").write_text(
        "userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n3\t51\t228\n"
    )
    (folder / "artists.dat").write_text(
        "id\tname\turl\tpictureURL\n51\tDuran Duran\thttp://www.last.fm/music/Duran+Duran\tp\n"
        "52\tMorcheeba\thttp://www.last.fm/music/Morcheeba\tp\n53\tAir\thttp://www.last.fm/music/Air\tp\n"
    )
    (folder / "tags.dat").write_text("tagID\ttagValue\n1\tmetal\n2\tpop\n3\tchillout\n")
    (folder / "user_taggedartists.dat").write_text(
        "userID\tartistID\ttagID\tday\tmonth\tyear\n2\t51\t2\t1\t4\t2009\n3\t51\t2\t1\t4\t2009\n"
        "3\t51\t1\t1\t4\t2009\n2\t52\t3\t1\t4\t2009\n"
    )
    data = load_lastfm(path=tmp_path)
    assert data.shape == (2, 2) and data.timestamps is None
    np.testing.assert_array_equal(data.matrix.toarray(), [[13883, 11690], [228, 0]])
    assert data.item_metadata["name"].tolist() == ["Duran Duran", "Morcheeba"]
    assert data.item_metadata["tags"].tolist() == ["pop|metal", "chillout"]
    with pytest.raises(FileNotFoundError, match="user_artists.dat"):
        load_lastfm(path=tmp_path / "nothing")
