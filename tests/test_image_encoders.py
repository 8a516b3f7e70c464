"""Image encoders by name: EfficientNet-Lite2 and Lite0+Lite2 side by side, on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.encoders.base import UnknownEncoderError, normalise
from core.encoders.registry import JOINED, JOINED_BOTH_TUNED, REGISTRY, get_encoder


@pytest.fixture(scope="module")
def photos(practicum_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four real test photos and, third, a file that is not an image."""
    real = sorted((practicum_dir / "test_images").glob("*.jpg"))[:4]
    broken = tmp_path_factory.mktemp("broken") / "broken.jpg"
    broken.write_bytes(b"not a photo")
    return [real[0], real[1], broken, real[2], real[3]]


def test_joined_vector_is_both_networks_vectors_side_by_side(photos: Path) -> None:
    lite0, fail0 = get_encoder("efficientnet-lite0", "image").encode_paths(photos)
    lite2, fail2 = get_encoder("efficientnet-lite2", "image").encode_paths(photos)
    joined, failures = get_encoder(JOINED, "image").encode_paths(photos, batch_size=2)
    assert set(failures) == set(fail0) == set(fail2) == {2} and "not an image" in failures[2]
    assert joined.shape == (5, REGISTRY[JOINED].dim) == (5, 2560)
    assert not joined[2].any()  # the broken file's row stays empty
    good = [0, 1, 3, 4]
    np.testing.assert_allclose(np.linalg.norm(joined[good], axis=1), 1.0, atol=1e-5)
    expected = normalise(np.hstack([lite0, lite2]))[good]
    np.testing.assert_allclose(joined[good], expected, atol=2e-4)
    # the two networks see the photos differently: Lite2 is not Lite0 again
    assert np.abs(lite0[good] @ lite0[good].T - lite2[good] @ lite2[good].T).max() > 0.01


def test_joined_encoder_gives_the_child_check_lite0s_trunk(photos: Path) -> None:
    joined, lite0 = get_encoder(JOINED, "image"), get_encoder("efficientnet-lite0", "image")
    assert joined.trunk_shape() == lite0.trunk_shape() != get_encoder("efficientnet-lite2").trunk_shape()
    assert joined.tail_dim == lite0.dim == 1280
    seen: list[tuple[list[int], tuple[int, ...]]] = []
    joined.encode_paths(photos, batch_size=3, on_trunk=lambda rows, t: seen.append((rows, tuple(t.shape))))
    assert [rows for rows, _ in seen] == [[0, 1], [3, 4]]  # readable positions, batch by batch
    assert all(shape[1:] == lite0.trunk_shape() for _, shape in seen)


def test_only_networks_fine_tuned_whole_have_an_empty_trunk() -> None:
    """A child head on a frozen network's tail learns its last layers; on a network fine-tuned
    whole (the committed weights), the tail is every layer, so such a head relearns the CNN."""
    assert not get_encoder(JOINED, "image").tail_is_whole_network()
    assert get_encoder(JOINED_BOTH_TUNED, "image").tail_is_whole_network()


def test_unknown_image_encoder_lists_the_new_names() -> None:
    with pytest.raises(UnknownEncoderError) as caught:
        get_encoder("efficientnet-lite9", "image")
    assert "efficientnet-lite2" in str(caught.value) and JOINED in str(caught.value)
