"""The dataset format: NPZ/CSV loading, splitting, saving, and one-line errors for bad files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from edgelstm.data import Dataset, check_features, load_dataset, save_dataset
from edgelstm.errors import DataError


def _arrays(n=40, m=12, T=5, F=3, C=3, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "X_train": rng.normal(size=(n, T, F)),
        "y_train": np.arange(n) % C,
        "X_test": rng.normal(size=(m, T, F)),
        "y_test": np.arange(m) % C,
    }


def _npz(tmp_path, name="d.npz", **arrays):
    p = tmp_path / name
    np.savez(p, **arrays)
    return p


def _error(path, **kw) -> str:
    with pytest.raises(DataError) as e:
        load_dataset(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    assert str(path) in msg  # the message names the file
    return msg


# ----------------------------------------------------------------------------- good files


def test_load_minimal_npz_defaults_and_dtypes(tmp_path):
    p = _npz(tmp_path, **_arrays())
    ds = load_dataset(p)
    assert ds.X_train.dtype == np.float32 and ds.X_test.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert ds.class_names == ["class_0", "class_1", "class_2"]
    assert ds.feature_names == ["f0", "f1", "f2"]
    assert (ds.n_classes, ds.n_features, ds.window) == (3, 3, 5)
    assert ds.lengths_train is None and ds.lengths_test is None
    assert ds.source == str(p) and len(ds.sha256) == 64
    X, y, lengths = ds.split("test")
    assert X is ds.X_test and y is ds.y_test and lengths is None


def test_string_labels_map_to_class_names_order(tmp_path):
    a = _arrays(C=2)
    names = np.array(["walk", "car"])
    a["y_train"] = names[a["y_train"]]
    a["y_test"] = names[a["y_test"]]
    ds = load_dataset(_npz(tmp_path, class_names=np.array(["walk", "car"]), **a))
    assert ds.class_names == ["walk", "car"]
    assert list(ds.y_train[:4]) == [0, 1, 0, 1]
    # Without class_names: sorted unique.
    ds = load_dataset(_npz(tmp_path, "e.npz", **a))
    assert ds.class_names == ["car", "walk"]
    assert list(ds.y_train[:4]) == [1, 0, 1, 0]


def test_int_and_float64_inputs_and_tiny_shapes(tmp_path):
    a = _arrays(T=1, F=1)
    a["X_train"] = (a["X_train"] * 10).astype(np.int32)
    a["y_train"] = a["y_train"].astype(np.float64)  # integral floats are accepted
    ds = load_dataset(_npz(tmp_path, **a))
    assert ds.X_train.shape == (40, 1, 1) and ds.X_train.dtype == np.float32


def test_long_sequences(tmp_path):
    a = _arrays(n=6, m=3, T=2000, F=2)
    ds = load_dataset(_npz(tmp_path, **a))
    assert ds.window == 2000


def test_missing_test_split_is_stratified_and_deterministic(tmp_path):
    a = _arrays(n=100, C=4)
    del a["X_test"], a["y_test"]
    p = _npz(tmp_path, **a)
    ds = load_dataset(p)
    assert len(ds.X_test) == 20 and len(ds.X_train) == 80
    assert np.bincount(ds.y_test).tolist() == [5, 5, 5, 5]
    assert ds.params["split"] == {"test_fraction": 0.2, "seed": 0, "stratified": True}
    again = load_dataset(p)
    assert np.array_equal(again.X_test, ds.X_test)
    other = load_dataset(p, test_fraction=0.4, seed=3)
    assert np.bincount(other.y_test).tolist() == [10, 10, 10, 10]
    assert other.params["split"]["test_fraction"] == 0.4
    assert not np.array_equal(load_dataset(p, seed=1).X_test, ds.X_test)


def test_round_trip_keeps_everything(tmp_path):
    a = _arrays()
    ds = load_dataset(_npz(tmp_path, **a))
    ds.lengths_train = np.full(len(ds.X_train), 5, dtype=np.int64)
    ds.lengths_test = np.arange(len(ds.X_test)) % 5 + 1
    ds.params = {"seed": 7, "nested": {"a": [1, 2]}}
    ds.class_names = ["a", "b", "c"]
    out = tmp_path / "sub" / "rt.npz"
    save_dataset(ds, out)
    # No pickle needed, params stored as JSON text.
    with np.load(out, allow_pickle=False) as z:
        assert json.loads(str(z["params_json"])) == ds.params
    back = load_dataset(out)
    for k in ("X_train", "y_train", "X_test", "y_test", "lengths_train", "lengths_test"):
        assert np.array_equal(getattr(back, k), getattr(ds, k)), k
    assert back.class_names == ds.class_names and back.feature_names == ds.feature_names
    assert back.params == ds.params
    assert [p.name for p in out.parent.iterdir()] == ["rt.npz"]  # no temporary left


def test_save_without_npz_suffix_writes_exact_name(tmp_path):
    ds = load_dataset(_npz(tmp_path, **_arrays()))
    save_dataset(ds, tmp_path / "plain")
    assert (tmp_path / "plain").exists() and not (tmp_path / "plain.npz").exists()
    assert load_dataset(tmp_path / "plain").X_train.shape == ds.X_train.shape


def test_save_converts_dtypes(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 4, 2))  # float64
    y = (np.arange(6) % 2).astype(np.int32)
    ds = Dataset(X, y, X, y, ["a", "b"], ["f0", "f1"])
    save_dataset(ds, tmp_path / "d.npz")
    back = load_dataset(tmp_path / "d.npz")
    assert back.X_train.dtype == np.float32 and back.y_train.dtype == np.int64
    assert np.allclose(back.X_train, X, atol=1e-6)


def test_save_refuses_invalid_dataset_and_writes_nothing(tmp_path):
    ds = load_dataset(_npz(tmp_path, **_arrays()))
    ds.X_test = ds.X_test.copy()
    ds.X_test[0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        save_dataset(ds, tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


def test_check_features():
    X = np.zeros((2, 3, 12), dtype=np.float32)
    check_features(X, 12, "the model")
    with pytest.raises(DataError, match="data has 12 features per frame but the model expects 16"):
        check_features(X, 16, "the model")
    ds = Dataset(X, np.array([0, 1]), X, np.array([0, 1]), ["a", "b"], [f"f{i}" for i in range(12)], source="d.npz")
    with pytest.raises(DataError, match="dataset 'd.npz' has 12 features"):
        check_features(ds, 16, "the model")


# ----------------------------------------------------------------------------- CSV


def _write_csv(path, rows, header="sequence_id,frame,a,b,label"):
    path.write_text(header + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    return path


def test_csv_variable_length_string_labels_and_split(tmp_path):
    rows = []
    spec = {"s1": (3, "walk", "train"), "s2": (2, "car", "train"), "s3": (3, "walk", "test"), "s4": (1, "car", "test")}
    for sid, (n, lab, split) in spec.items():
        for f in reversed(range(n)):  # frames out of order on purpose
            rows.append([lab, split, f, sid, 10 * f + 1, -f])
    p = _write_csv(tmp_path / "d.csv", rows, header="label,split,frame,sequence_id,a,b")
    ds = load_dataset(p)
    assert ds.class_names == ["car", "walk"]
    assert ds.feature_names == ["a", "b"]
    assert ds.X_train.shape == (2, 3, 2) and ds.X_test.shape == (2, 3, 2)
    assert ds.lengths_train.tolist() == [3, 2] and ds.lengths_test.tolist() == [3, 1]
    # s2 has 2 frames: pre-padded with one zero frame, then frames 0, 1 in order.
    assert ds.X_train[1, :, 0].tolist() == [0.0, 1.0, 11.0]
    assert ds.X_train[0, :, 0].tolist() == [1.0, 11.0, 21.0]
    assert ds.y_train.tolist() == [1, 0] and ds.y_test.tolist() == [1, 0]


def test_csv_without_split_column_is_split(tmp_path):
    rows = [[s, f, s + f, 1.0, s % 2] for s in range(20) for f in range(4)]
    ds = load_dataset(_write_csv(tmp_path / "d.csv", rows), test_fraction=0.25)
    assert len(ds.X_train) == 16 and len(ds.X_test) == 4
    assert ds.lengths_train is None  # all sequences have the same length
    assert ds.class_names == ["class_0", "class_1"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("sequence_id,frame,a\n1,0,2\n", "lacks column(s) label"),
        ("sequence_id,frame,label\n1,0,a\n", "no feature columns"),
        ("sequence_id,frame,a,label\n", "no data rows"),
        ("sequence_id,frame,a,label\n1,0,x,0\n2,0,1,1\n", "non-numeric feature value 'x'"),
        ("sequence_id,frame,a,label\n1,0,1,0\n1,0,2,0\n2,0,1,1\n", "frame 0 twice"),
        ("sequence_id,frame,a,label\n1,0,1,0\n1,1,2,1\n2,0,1,1\n", "more than one label"),
        ("sequence_id,frame,a,label\n1,0,1\n", "has 3 fields but the header has 4"),
        ("sequence_id,frame,a,label,split\n1,0,1,0,val\n", "split column has value(s) val"),
        ("sequence_id,frame,a,label\n1,0,nan,0\n2,0,1,1\n3,0,1,0\n4,0,1,1\n", "NaN"),
    ],
)
def test_bad_csv(tmp_path, text, problem):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    assert problem in _error(p)


# ----------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    assert "does not exist" in _error(tmp_path / "nope.npz")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.npz"
    p.write_bytes(b"")
    assert "is empty" in _error(p)


def test_directory(tmp_path):
    assert "is a directory" in _error(tmp_path)


def test_truncated_npz(tmp_path):
    p = _npz(tmp_path, **_arrays(n=400, T=20))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in _error(p)


def test_corrupt_member_in_npz(tmp_path):
    p = tmp_path / "c.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("X_train.npy", b"\x93NUMPY garbage")
    assert "truncated or corrupt" in _error(p)


def test_png_renamed_npz(tmp_path):
    p = tmp_path / "picture.npz"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert "PNG image" in _error(p)


def test_npy_and_text_renamed_npz(tmp_path):
    p = tmp_path / "single.npz"
    with open(p, "wb") as f:
        np.save(f, np.zeros(3))
    assert "single .npy array" in _error(p)
    q = tmp_path / "text.npz"
    q.write_text("hello")
    assert "not an NPZ archive" in _error(q)


def test_object_array_needing_pickle(tmp_path):
    a = _arrays()
    p = tmp_path / "obj.npz"
    np.savez(p, class_names=np.array(["a", 1, None], dtype=object), **a)
    assert "pickle" in _error(p)


def test_missing_keys_named(tmp_path):
    msg = _error(_npz(tmp_path, X_train=np.zeros((4, 2, 2))))
    assert "lacks the array(s) y_train" in msg and "found: X_train" in msg
    a = _arrays()
    del a["y_test"]
    assert "has X_test but lacks y_test" in _error(_npz(tmp_path, "b.npz", **a))


def test_wrong_rank_2d_is_not_accepted(tmp_path):
    a = _arrays()
    a["X_train"] = a["X_train"][:, 0, :]
    msg = _error(_npz(tmp_path, **a))
    assert "(40, 3)" in msg and "(N, T, F)" in msg
    a["X_train"] = np.zeros((40, 2, 2, 2))
    assert "rank 4" in _error(_npz(tmp_path, "b.npz", **a))


@pytest.mark.parametrize("value, word", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_nan_inf_counted_and_located(tmp_path, value, word):
    a = _arrays()
    a["X_test"][3, 2, 1] = value
    a["X_test"][5, 0, 0] = value
    msg = _error(_npz(tmp_path, **a))
    assert f"X_test has 2 {word}" in msg and "sequence 3, frame 2, feature 1" in msg


def test_float64_overflow_reported_as_inf(tmp_path):
    a = _arrays()
    a["X_train"][0, 0, 0] = 1e300
    assert "1 inf" in _error(_npz(tmp_path, **a))


def test_single_class(tmp_path):
    a = _arrays()
    a["y_train"][:] = 0
    a["y_test"][:] = 0
    assert "1 class" in _error(_npz(tmp_path, **a))
    a["y_test"] = np.arange(12) % 3  # three class names known, but training sees one
    assert "single class" in _error(_npz(tmp_path, "b.npz", **a))


def test_mismatched_n(tmp_path):
    a = _arrays()
    a["y_train"] = a["y_train"][:-1]
    assert "X_train has 40 sequences but y_train has 39 labels" in _error(_npz(tmp_path, **a))


def test_zero_sequences(tmp_path):
    a = _arrays()
    a["X_test"], a["y_test"] = np.zeros((0, 5, 3)), np.zeros(0, dtype=np.int64)
    assert "zero sequences" in _error(_npz(tmp_path, **a))


def test_feature_count_mismatch_between_splits(tmp_path):
    a = _arrays()
    a["X_test"] = np.zeros((12, 5, 4))
    assert "X_train has 3 features per frame but X_test has 4" in _error(_npz(tmp_path, **a))


def test_labels_out_of_range(tmp_path):
    a = _arrays()
    a["y_test"][0] = 5
    msg = _error(_npz(tmp_path, class_names=np.array(["a", "b", "c"]), **a))
    assert "labels out of range" in msg and "found label 5" in msg
    a["y_test"][0] = -1
    assert "labels out of range" in _error(_npz(tmp_path, "b.npz", **a))


def test_string_label_not_in_class_names(tmp_path):
    a = _arrays(C=2)
    a["y_train"] = np.array(["x", "y"])[a["y_train"]]
    a["y_test"] = np.array(["x", "z"])[a["y_test"]]
    assert "label(s) z are not in class_names" in _error(
        _npz(tmp_path, class_names=np.array(["x", "y"]), **a)
    )


def test_bad_lengths_and_feature_names(tmp_path):
    a = _arrays()
    msg = _error(_npz(tmp_path, lengths_train=np.full(40, 6), lengths_test=np.full(12, 5), **a))
    assert "outside 1..5" in msg
    assert "feature_names has 2 names but the data have 3" in _error(
        _npz(tmp_path, "b.npz", feature_names=np.array(["a", "b"]), **a)
    )
    # no test split: the count is checked before train's split uses the lengths
    no_test = {k: a[k] for k in ("X_train", "y_train")}
    assert "lengths_train has shape (5) but X_train has 40 sequences" in _error(
        _npz(tmp_path, "c.npz", lengths_train=np.full(5, 4), **no_test))


def test_too_many_classes(tmp_path):
    a = _arrays(n=60, C=51)
    a["y_test"] = np.arange(12)
    assert "51 class(es)" in _error(_npz(tmp_path, **a))


def test_keras_archive_recognised(tmp_path):
    p = tmp_path / "model.keras"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"")
    assert "Keras model" in _error(p)


def test_bad_test_fraction(tmp_path):
    with pytest.raises(DataError, match="between 0 and 1"):
        load_dataset(_npz(tmp_path, **_arrays()), test_fraction=1.5)
