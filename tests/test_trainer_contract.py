"""The trainer contract: every member the IMP driver and the baselines' checks read is stated, with defaults for a
subclass of ``lk.Trainer``, forwarded by a wrapper, and refused by name where an object lacks it."""

import pytest

import lottery_kit as lk
from lottery_kit.pruning import check_needs
from lottery_kit.trainers.protocol import MEMBERS

TrainerWrapper = lk.TrainerWrapper


class Counting(TrainerWrapper):
    """A wrapper that counts its rounds (as ``lottery-kit bench`` times them)."""

    calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return super().__call__(*args, **kwargs)


def test_a_wrapper_forwards_every_member_so_sig2noise_accepts_a_wrapped_es():
    es = lk.ESTrainer("SNES", popsize=8, generations=2, eval_every=2, rewind_step=1, progress=False)
    wrapped = Counting(es)
    assert isinstance(wrapped, lk.Trainer)
    assert [getattr(wrapped, m) for m in MEMBERS[3:]] == [es.families, True, "generation", 1, False]
    check_needs("sig2noise", wrapped, None)
    with pytest.raises(lk.ConfigError, match="sig2noise.*Adam has none"):
        check_needs("sig2noise", Counting(lk.AdamTrainer(progress=False)), None)


def test_a_wrapped_trainer_runs_imp_with_the_same_rows_as_the_trainer_itself():
    task = lk.make_task("CartPole-v1", n_rollouts=2, n_eval_episodes=2, max_steps=20)
    es = lk.ESTrainer("SNES", popsize=8, generations=2, eval_every=2, progress=False)
    wrapped = Counting(es)
    rows = lk.run_imp(task, wrapped, "sig2noise", seeds=[0], rounds=2, keep_ratio=0.5, progress=False)
    plain = lk.run_imp(task, es, "sig2noise", seeds=[0], rounds=2, keep_ratio=0.5, progress=False)
    assert wrapped.calls == 2
    assert rows[["final_perf", "best_perf"]].equals(plain[["final_perf", "best_perf"]])


def test_a_subclass_gets_defaults_and_an_object_lacking_members_is_refused_by_name():
    class Mine(lk.Trainer):
        def __call__(self, task, init, mask, keys, rewind_point, desc=""):
            raise NotImplementedError

        def config(self):
            return {"strategy": "Mine"}

    mine = Mine()
    assert (mine.search_distribution, mine.iterate_statistics, mine.rewind_step, mine.step_unit) == (
        False, False, 0, "step")
    assert mine.preflight(None, 1) is None
    with pytest.raises(lk.ConfigError, match="sig2noise.*Mine has none"):
        check_needs("sig2noise", mine, None)

    class Bare:
        def __call__(self, *args):
            raise NotImplementedError

        def config(self):
            return {"strategy": "Bare"}

    with pytest.raises(lk.ConfigError, match="trainer Bare lacks preflight, families, search_distribution, step_unit, "
                                             "rewind_step, iterate_statistics: subclass lottery_kit.Trainer"):
        check_needs("final-ticket", Bare(), None)
