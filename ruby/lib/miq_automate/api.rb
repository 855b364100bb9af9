# frozen_string_literal: true

module MiqAutomate
  module Api
    # The ManageIQ REST client (native): token auth, retries, bounded concurrency.
    #
    #   client = MiqAutomate::Api::Client.new(url: "https://miq", user: "admin", password: pw)
    #   report = client.retire_bundle_siblings(service_id: 1000, failed_id: 1004, wait: true)
    #
    # The call releases Ruby's GVL while it waits on the network.
    class Client
      def self.new(url:, user: nil, password: nil, token: nil, group: nil, verify_ssl: true)
        _new({ url: url, user: user, password: password, token: token, group: group, verify_ssl: verify_ssl })
      end

      # Retires every member of bundle `service_id` that did provision (skipping retired and
      # retiring ones, leaving `failed_id` or the members in error_in_provisioning).
      # Returns the report as a Hash ("items", "summary", …).
      def retire_bundle_siblings(service_id:, failed_id: nil, wait: false)
        _retire_bundle_siblings(service_id.to_s, failed_id&.to_s, wait ? true : false)
      end

      def inspect
        "#<MiqAutomate::Api::Client>"
      end
    end
  end
end
