# frozen_string_literal: true

module MiqAutomate
  module Api
    # The ManageIQ REST client (native): token auth, retries, bounded concurrency.
    #
    #   client = MiqAutomate::Api::Client.new(url: "https://miq", user: "admin", password: pw)
    #   report = client.retire_bundle_siblings(service_id: 1000, failed_id: 1004, wait: true)
    #
    # Calls run on one runtime per process with Ruby's GVL released while they wait on the
    # network; Thread#kill, Timeout.timeout and Ctrl-C interrupt them.
    class Client
      def self.new(url:, user: nil, password: nil, token: nil, group: nil, verify_ssl: true, concurrency: nil)
        _new({ url: url, user: user, password: password, token: token, group: group,
               verify_ssl: verify_ssl, concurrency: concurrency })
      end

      RETIRE_OPTIONS = %i[service_id request_id failed_id wait dry_run timeout poll_interval post_budget
                          concurrency include_failed retire_parent with_vms all_members].freeze

      # Retires every member of a bundle that did provision, as `miq-automate retire-bundle`
      # does, with its options and defaults: `service_id:` (or `request_id:` of the failed
      # service request), `failed_id:`, `wait:` (false), `dry_run:` (false), `timeout:` (600 s
      # in all), `poll_interval:` (5 s), `post_budget:` (60 s), `concurrency:` (the client's,
      # 8), `include_failed:`, `retire_parent:`, `with_vms:`, `all_members:` (false; without it a
      # bundle in which nothing failed is refused with MiqAutomate::Api::Error). Members already retired,
      # retiring or with a retire request open are skipped, so a rerun sends nothing twice.
      # Returns the report as a Hash ("items", "summary", …).
      def retire_bundle_siblings(**options)
        unknown = options.keys - RETIRE_OPTIONS
        raise ArgumentError, "unknown keyword#{"s" if unknown.size > 1}: #{unknown.map(&:inspect).join(", ")}" unless unknown.empty?

        _retire_bundle_siblings(options)
      end

      def inspect
        "#<MiqAutomate::Api::Client>"
      end
    end
  end
end
