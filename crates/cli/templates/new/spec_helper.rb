# The miq_automate rspec kit (build_workspace, run_method, load_method, build_engine,
# deliver and the matchers): from the installed gem, or from `rspec -I <miq-automate>/ruby/lib`.
require "miq_automate/rspec"

# The domain directory these specs test (the folder above spec/).
DOMAIN_DIR = File.expand_path("..", __dir__) unless defined?(DOMAIN_DIR)
