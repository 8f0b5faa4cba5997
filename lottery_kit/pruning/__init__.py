"""Pruning as score × distribution × weights: what ranks the weights, how the kept ones spread over the layers,
and which values they restart from. A *baseline* names one score × weights combination; the *distribution* is
chosen apart (``distribution`` parameter), and the rewind point by the trainer's ``rewind_step``.

| baseline | score | weights |
|---|---|---|
| final-ticket | magnitude of the mean | rewound |
| sig2noise | \\|μ\\|/σ of the search distribution | rewound |
| random-reinit | uniform random, redrawn each round | fresh init |
| mask-reinit | magnitude | fresh init |
| final-ticket_permute | magnitude | survivors permuted within each kernel |
| final_permute-ticket_permute | magnitude, mask permuted within each kernel | survivors permuted too |
| snip | \\|g ⊙ θ0\\| at the dense rewind point, one-shot | rewound |
| grasp | keep the smallest −θ0 ⊙ Hg at the dense rewind point, one-shot (GraSP's direction) | rewound |
| iterate-snr | \\|mean\\|/std of gradient-descent iterates over the last epoch (the kit's) | rewound |
| sig2noise-shuffled | \\|μ\\|/σ with σ shuffled within each kernel among its kept weights (the kit's control) | rewound |
| magnitude-layer-std | \\|μ\\| over the mean σ of the kernel's kept weights (the kit's control) | rewound |

Modules: :mod:`.scores`, :mod:`.distributions`, :mod:`.weights`, :mod:`.baselines`; each has a registry and a
``register_*`` function (see docs/how-to/extend.md).
"""

from .baselines import BASELINES, Baseline, check_needs, get_baseline, register_baseline
from .distributions import DISTRIBUTIONS, Distribution, apportion, register_distribution, select
from .outcome import RoundOutcome
from .scores import SCORES, Score, register_score, snr_scores
from .weights import WEIGHTS, WeightsPolicy, register_weights

__all__ = ["BASELINES", "Baseline", "DISTRIBUTIONS", "RoundOutcome", "SCORES", "Score", "Distribution", "WEIGHTS",
           "WeightsPolicy", "apportion", "check_needs", "get_baseline", "register_baseline", "register_distribution",
           "register_score", "register_weights", "select", "snr_scores"]
