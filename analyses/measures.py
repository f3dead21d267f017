"""The measures every analysis uses: PCA, errors and PSNR, spreads over seeds, code quality
(k-NN accuracy, live units, CKA) and the faithfulness of a t-SNE map."""

import statistics

import numpy as np
import torch

import ex09

PIXEL_RANGE = 2.0  # images live in [-1, 1]: the peak-to-peak value for PSNR
KNN_K = 5
PCA_COMPONENTS = 8  # the linear baseline with a code as wide as the autoencoder's
ACTIVE_FRACTION = 0.01  # a code unit counts as active if non-zero on >= 1% of test images



def pca_fit(x, n_components):
    """Mean and top principal directions (rows) of x: the best linear code of that size."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(eigenvalues)[::-1][:n_components]
    return mean, eigenvectors[:, order].T


def pca_codes(x, mean, components):
    return (np.asarray(x, dtype=np.float64) - mean) @ components.T


def pca_reconstruct(x, mean, components):
    return pca_codes(x, mean, components) @ components + mean


def mse(a, b):
    return float(np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2))


def psnr(estimate, target, peak_to_peak=PIXEL_RANGE):
    """Mean over images of the per-image PSNR in dB: 10 log10(range^2 / MSE of that image)."""
    err = np.mean((np.asarray(estimate, np.float64) - np.asarray(target, np.float64)) ** 2, axis=1)
    return float(np.mean(10 * np.log10(peak_to_peak ** 2 / np.maximum(err, 1e-12))))


def spread(values):
    """Mean, sd (0 for one value), min, max and n of a list of numbers: a result over seeds."""
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1
            else 0.0, "min": min(values), "max": max(values), "n": len(values)}


def per_class_mse(estimate, target, labels):
    err = np.mean((np.asarray(estimate, np.float64) - np.asarray(target, np.float64)) ** 2, axis=1)
    return [float(err[labels == c].mean()) for c in range(len(ex09.CLASS_NAMES))]


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, k=KNN_K):
    """Share of test images whose k nearest training codes vote for the right class."""
    from sklearn.neighbors import KNeighborsClassifier
    classifier = KNeighborsClassifier(n_neighbors=k, algorithm="brute", n_jobs=-1)
    classifier.fit(np.asarray(train_codes, np.float32), train_labels)
    return float(classifier.score(np.asarray(test_codes, np.float32), test_labels))


def active_units(codes, min_fraction=ACTIVE_FRACTION):
    """Number of code units that are non-zero on at least min_fraction of the images."""
    return int(np.sum(np.mean(np.asarray(codes) != 0, axis=0) >= min_fraction))


def varying_units(codes, min_std=1e-6):
    """Number of code units whose value changes from image to image at all. A linear code is
    never exactly zero, so 'active' says little there; a constant unit carries no information
    either way."""
    return int(np.sum(np.std(np.asarray(codes, np.float64), axis=0) > min_std))


def linear_cka(x, y):
    """Linear centred kernel alignment of two codes of the same images: 1 when one is a
    rotation and uniform scaling of the other (the same information, arranged the same way),
    near 0 for unrelated codes. Answers "is the code different?" beyond a picture."""
    x = np.asarray(x, np.float64) - np.mean(x, axis=0)
    y = np.asarray(y, np.float64) - np.mean(y, axis=0)
    denominator = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(np.linalg.norm(y.T @ x) ** 2 / denominator) if denominator > 0 else 0.0


def embedding_scores(tsne):
    """How faithful the 2-D t-SNE map is (trustworthiness) and how well classes separate in it."""
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import silhouette_score
    return {"trustworthiness": float(trustworthiness(tsne["codes"], tsne["coords"],
                                                     n_neighbors=KNN_K)),
            "silhouette_2d": float(silhouette_score(tsne["coords"], tsne["labels"]))}


@torch.no_grad()
def codes_and_outputs(model, x):
    h = model.f(x)
    return h.numpy(), model.g(h).numpy()


def mean_psnr(estimate, clean):
    error = np.mean((np.clip(estimate, -1, 1) - clean).reshape(len(clean), -1) ** 2, axis=1)
    return float(np.mean(10 * np.log10(4.0 / np.maximum(error, 1e-10))))


def _image_scores(pair):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    clean, estimate = pair
    return ([peak_signal_noise_ratio(c, e, data_range=2.0) for c, e in zip(clean, estimate)],
            [structural_similarity(c, e, data_range=2.0) for c, e in zip(clean, estimate)])


def scores(estimate, clean, pool=None):
    """Mean over images of each image's PSNR and SSIM (data range 2), and the MSE; the images
    spread over `pool`'s processes if given (the same numbers either way)."""
    estimate = np.clip(np.asarray(estimate, np.float64).reshape(-1, 28, 28), -1, 1)
    clean = np.asarray(clean, np.float64).reshape(-1, 28, 28)
    parts = [(clean[i], estimate[i]) for i in np.array_split(np.arange(len(clean)), 8)]
    parts = list(map(_image_scores, parts) if pool is None else pool.map(_image_scores, parts))
    psnr, ssim = (np.concatenate([part[j] for part in parts]) for j in (0, 1))
    return {"psnr_db": float(np.mean(np.minimum(psnr, 100.0))), "ssim": float(np.mean(ssim)),
            "mse": float(np.mean((estimate - clean) ** 2))}
