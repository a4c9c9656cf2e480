"""Chip estimators: scaler, PCA channels, centre pixel, and the CNN (texture, determinism, saving)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import skops.io as sio
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from geoprospect.errors import InputError
from geoprospect.lithology.chips import materialise_chips
from geoprospect.lithology.cnn import CentrePixel, ChannelPCA, ChannelScaler, ChipCNN, validation_split
from geoprospect.lithology.experiment import make_model

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def texture():
    """Two units of one spectrum that differ by texture only, as 5 x 5 chips.

    Band 0 is +-1 in both units with equal odds, so a centre pixel alone cannot tell them apart: in
    unit 1 (left half) each pixel's sign is independent, in unit 2 (right half) signs come in 4 x 4
    tiles, so a pixel's neighbours mostly share its sign. Band 1 is noise.
    """
    rng = np.random.default_rng(0)
    height, width = 64, 96
    speckle = rng.choice([-1.0, 1.0], size=(height, width))
    tiles = np.kron(rng.choice([-1.0, 1.0], size=(height // 4, width // 4)), np.ones((4, 4)))
    unit = np.where(np.arange(width) < width // 2, 1, 2)[None, :].repeat(height, axis=0)
    image = np.stack([np.where(unit == 1, speckle, tiles), rng.normal(size=(height, width))]).astype(np.float32)
    inner = np.zeros((height, width), bool)
    inner[2:-2, 2:-2] = True
    inner[:, width // 2 - 2:width // 2 + 2] = False  # no chip across the units' contact
    rows, cols = np.nonzero(inner)
    pick = rng.permutation(rows.size)
    train, test = pick[:1200], pick[1200:2200]
    chips = materialise_chips(image, rows, cols, 5)
    y = unit[rows, cols]
    return chips[train], y[train], chips[test], y[test]


def test_cnn_learns_texture_that_a_centre_pixel_model_cannot(texture):
    X_train, y_train, X_test, y_test = texture
    cnn = make_model("cnn", seed=0, epochs=10).fit(X_train, y_train)
    mlp = make_model("mlp", seed=0, epochs=200).fit(X_train, y_train)
    assert np.mean(cnn.predict(X_test) == y_test) > 0.9
    assert np.mean(mlp.predict(X_test) == y_test) < 0.65


def test_cnn_is_deterministic_for_a_seed(texture):
    X_train, y_train, X_test, _ = texture
    scaled = ChannelScaler().fit(X_train)
    fit = lambda seed: ChipCNN(epochs=2, random_state=seed).fit(scaled.transform(X_train[:300]), y_train[:300])
    first, second, other = fit(3), fit(3), fit(4)
    X = scaled.transform(X_test[:100])
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert np.array_equal(first.loss_curve_, second.loss_curve_)
    assert not np.allclose(first.predict_proba(X), other.predict_proba(X))


def test_early_stopping_keeps_the_best_epoch(texture):
    X_train, y_train, _, _ = texture
    X = ChannelScaler().fit_transform(X_train[:400])
    model = ChipCNN(epochs=40, learning_rate=0.05, validation_fraction=0.25, n_iter_no_change=2, random_state=0).fit(X, y_train[:400])
    curve = model.validation_loss_curve_
    assert curve.size == model.n_epochs_ == model.loss_curve_.size
    assert model.n_epochs_ < 40 and np.argmin(curve) == model.n_epochs_ - 3  # stopped two epochs after the best
    assert ChipCNN(epochs=1, random_state=0).fit(X, y_train[:400]).validation_loss_curve_ is None


def test_early_stopping_validates_on_whole_blocks_stratified_by_class():
    y = np.repeat([0, 1, 2], 200)
    groups = np.arange(600) // 20  # 30 blocks of 20 rows, 10 per class
    train, valid = validation_split(y, 0.2, groups, seed=1)
    assert np.intersect1d(groups[train], groups[valid]).size == 0  # no block on both sides
    assert set(y[valid]) == {0, 1, 2} and 0.1 < valid.size / y.size < 0.3
    assert np.array_equal(np.sort(np.concatenate([train, valid])), np.arange(600))
    assert np.array_equal(validation_split(y, 0.2, groups, seed=1)[1], valid)  # seeded
    train, valid = validation_split(y, 0.2, groups[:600] // 15, seed=1)  # 2 blocks: too few, random rows per class
    assert np.bincount(y[valid]).tolist() == [40, 40, 40]
    X = ChannelScaler().fit_transform(np.random.default_rng(0).normal(size=(600, 2, 3, 3)).astype(np.float32))
    model = ChipCNN(epochs=3, validation_fraction=0.2, random_state=0).fit(X, y, groups=groups)
    assert model.validation_loss_curve_.size == model.n_epochs_ and 1 <= model.best_epoch_ <= 3
    with pytest.raises(InputError, match="groups for"):
        ChipCNN(epochs=1).fit(X, y, groups=groups[:10])


def test_augmented_cnn_is_nearly_invariant_to_rotations_and_flips(texture):
    X_train, y_train, X_test, y_test = texture
    model = make_model("cnn", seed=0, epochs=10).fit(X_train, y_train)
    assert model[-1].augment and model[-1].class_weight == "balanced"
    turned = np.rot90(X_test, 1, axes=(2, 3)).copy()
    flipped = X_test[:, :, :, ::-1].copy()
    predicted = model.predict(X_test)
    assert np.mean(model.predict(turned) == predicted) > 0.9 and np.mean(model.predict(flipped) == predicted) > 0.9


def test_balanced_class_weights_lift_a_rare_class(texture):
    X_train, y_train, X_test, y_test = texture
    rare = np.flatnonzero(y_train == 2)[:60]  # unit 2 ten times rarer than unit 1 in training
    keep = np.sort(np.concatenate([np.flatnonzero(y_train == 1), rare]))
    X = ChannelScaler().fit(X_train[keep])
    recall = {}
    for weight in (None, "balanced"):
        model = ChipCNN(epochs=8, class_weight=weight, random_state=0).fit(X.transform(X_train[keep]), y_train[keep])
        recall[weight] = np.mean(model.predict(X.transform(X_test[y_test == 2])) == 2)
    assert recall["balanced"] > recall[None]


def test_cnn_pickles_and_saves_as_numpy_state(texture):
    X_train, y_train, X_test, _ = texture
    model = make_model("cnn", seed=1, epochs=1).fit(X_train[:200], y_train[:200])
    state = model.named_steps["model"].__getstate__()
    assert isinstance(state["net_"]["tensors"]["head.1.weight"], np.ndarray)
    expected = model.predict_proba(X_test[:50])
    assert np.array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X_test[:50]), expected)
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert not any(name.startswith("torch") for name in untrusted)
    assert np.array_equal(sio.loads(data, trusted=untrusted).predict_proba(X_test[:50]), expected)


def test_channel_scaler_is_fitted_on_training_chips_only():
    rng = np.random.default_rng(0)
    train = rng.normal([1.0, -5.0, 100.0], [2.0, 0.5, 10.0], size=(300, 5, 5, 3)).transpose(0, 3, 1, 2).astype(np.float32)
    test = train[:50] * 3 + 7  # other statistics: must not move the fit
    train[0, 1, 2, 2] = np.nan
    model = make_model("svm", seed=0).fit(train, np.arange(300) % 2)
    scaler = model.named_steps["scale"]
    values = train.transpose(1, 0, 2, 3).reshape(3, -1)
    assert np.allclose(scaler.mean_, np.nanmean(values, axis=1)) and np.allclose(scaler.scale_, np.nanstd(values, axis=1))
    model.predict(test)
    assert np.allclose(scaler.mean_, np.nanmean(values, axis=1))
    scaled = scaler.transform(train)
    assert scaled[0, 1, 2, 2] == 0 and not np.isnan(scaled).any()
    assert np.allclose(np.mean(scaled, axis=(0, 2, 3)), 0, atol=1e-3) and np.allclose(np.std(scaled, axis=(0, 2, 3)), 1, atol=1e-2)
    constant = ChannelScaler().fit(np.ones((4, 1, 3, 3), np.float32))
    assert constant.scale_[0] == 1 and not constant.transform(np.ones((2, 1, 3, 3))).any()


def test_channel_pca_and_centre_pixel():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4, 3, 3)).astype(np.float32)
    X[:, 1] += X[:, 0]  # correlated bands
    pca = ChannelPCA(2).fit(X)
    out = pca.transform(X)
    assert out.shape == (200, 6, 3, 3) and np.array_equal(out[:, :4], X)
    reference = PCA(2, whiten=True, svd_solver="full").fit(X[:, :, 1, 1])
    corner = reference.transform(X[:, :, 0, 2])
    signs = np.sign(np.sum(out[:, 4:, 0, 2] * corner, axis=0))  # components are defined up to sign
    assert np.allclose(out[:, 4:, 0, 2], corner * signs, atol=1e-4)
    assert np.array_equal(CentrePixel().fit(X).transform(X), X[:, :, 1, 1])


@pytest.mark.parametrize("call", [
    lambda X, y: ChannelScaler().fit(X[:, 0]),                                        # not 4-D
    lambda X, y: ChannelScaler().fit(X[:, :, :, :2]),                                 # not square
    lambda X, y: ChannelScaler().fit(X[:, :, :2, :2]),                                # even size
    lambda X, y: ChannelScaler().fit(X[:0]),                                          # no chip
    lambda X, y: ChannelScaler().fit(np.where(np.arange(2)[None, :, None, None] == 1, np.nan, X)),  # empty band
    lambda X, y: ChannelScaler().fit(X).transform(X[:, :1]),                          # other band count
    lambda X, y: ChannelPCA(3).fit(X),                                                # more components than bands
    lambda X, y: ChannelPCA(1).fit(np.where(X > 1, np.nan, X)),                       # NaN: scale first
    lambda X, y: ChipCNN().fit(np.where(X > 1, np.nan, X), y),                        # NaN: scale first
    lambda X, y: ChipCNN().fit(X, y[:5]),                                             # label count
    lambda X, y: ChipCNN().fit(X, np.zeros_like(y)),                                  # one class
    lambda X, y: ChipCNN(epochs=0).fit(X, y),
    lambda X, y: ChipCNN(channels=()).fit(X, y),
    lambda X, y: ChipCNN(channels=(8, 0)).fit(X, y),
    lambda X, y: ChipCNN(learning_rate=-1).fit(X, y),
    lambda X, y: ChipCNN(weight_decay=-1).fit(X, y),
    lambda X, y: ChipCNN(dropout=1).fit(X, y),
    lambda X, y: ChipCNN(class_weight="rare").fit(X, y),
    lambda X, y: ChipCNN(validation_fraction=1.5).fit(X, y),
    lambda X, y: ChipCNN(validation_fraction=0.01).fit(X, y),                         # holds out no chip
    lambda X, y: ChipCNN(epochs=1).fit(X, y).predict(X[:, :, 1:2, 1:2]),              # other chip size
], ids=["3d", "non-square", "even", "empty", "empty-band", "bands", "pca-components", "pca-nan", "cnn-nan", "labels",
        "one-class", "epochs", "no-layer", "width", "learning-rate", "weight-decay", "dropout", "class-weight", "validation",
         "validation-empty", "chip-size"])
def test_bad_estimator_inputs(call):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2, 3, 3)).astype(np.float32)
    with pytest.raises(InputError):
        call(X, np.arange(20) % 2)
