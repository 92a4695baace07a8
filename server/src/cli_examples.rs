//! The examples that end `curvecast --help` and each command's help (clap `after_help`).
//!
//! Every line of an `Examples:` block that starts with `curvecast ` is parsed by the real
//! command line in `server/tests/cli_help.rs`, so a renamed flag fails a test instead of
//! misleading a reader. Paths are relative to the workspace root, as in the README (the
//! demo runs of `fixtures/demo`, the published data in `../shared/data`); `docs/cli.md`
//! runs the same commands and checks their output.

pub const TOP: &str = "\
Examples:
  curvecast serve --demo fixtures/demo      # the web app and API on http://127.0.0.1:8080
  curvecast fit --law momentum --holdout demo_wsd_sqrt --out fit.json fixtures/demo/*.csv

Each command's --help ends with examples; the guide is docs/cli.md.";

pub const SERVE: &str = "\
Examples:
  curvecast serve --demo fixtures/demo      # http://127.0.0.1:8080, demo runs in ./curvecast.db
  curvecast serve --addr 0.0.0.0:8080 --token \"$TOKEN\" --db /srv/curvecast/runs.db";

pub const FIT: &str = "\
Examples:
  # the momentum law on two demo runs, checked on the third (held out), with bootstrap intervals
  curvecast fit --law momentum --holdout demo_wsd_sqrt --bootstrap 100 --out fit.json fixtures/demo/*.csv
  # a Chinchilla law on a table of model size, tokens and final loss
  curvecast fit --law chinchilla ../shared/data/epoch_chinchilla/svg_extracted_data.csv";

pub const COMPARE: &str = "\
Examples:
  # every schedule law on the demo runs: each run's last third, then each run, hidden in turn
  curvecast compare fixtures/demo/*.csv
  # two laws, as JSON
  curvecast compare --laws momentum,power-s1 --json fixtures/demo/*.csv";

pub const PREDICT: &str = "\
Examples:
  curvecast predict --fit fit.json --schedule wsd:peak=3e-4,warmup=500,total=24000,decay=0.2,shape=sqrt
  curvecast predict --fit fit.json --lr-from fixtures/demo/demo_cosine.csv --every 1000 --out forecast.json";

pub const BATCH: &str = "\
Examples:
  curvecast batch --reference-batch 256 ../shared/data/zhang_cbs/steps_to_goal_loss_vs_batch.csv
  curvecast batch --smooth 3 --csv sweep.csv       # curves written by `curvecast batch-sweep`";

pub const BATCH_SU: &str = "\
Examples:
  curvecast batch-su --smooth 3 --save law.json sweep.csv";

pub const BATCH_PREDICT: &str = "\
Examples:
  curvecast batch-predict --law law.json --n-params 1e9 --batch 1048576 --target 3.0
  curvecast batch-predict --law law.json --n-params 1e9 --batch 1048576 --csv   # the curve";

pub const BATCH_SWEEP: &str = "\
Examples:
  curvecast batch-sweep --out sweep.csv";

pub const HYPER: &str = "\
Examples:
  curvecast hyper --seq-len 2048 ../shared/data/steplaw/dense_lr_bs_loss.csv
  curvecast hyper --runs sweep/*.csv --final-points 5 --json";

pub const DEMO_DATA: &str = "\
Examples:
  curvecast demo-data --out fixtures/demo";

pub const INGEST: &str = "\
Examples:
  curvecast ingest fixtures/demo/demo_cosine.csv
  curvecast ingest --json --step-col it --loss-col objective odd.csv";

pub const FIXTURES: &str = "\
Examples:
  curvecast fixtures --out /tmp/formats";
