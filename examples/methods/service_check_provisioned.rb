#
# Description: the CheckProvisioned state of a service provision state machine: wait for
# the provision task, retry while it runs, fail the state (with a reason and a
# notification) when it errored. Copy it, and its spec beside it, into your own domain.
#
module MyDomain
  module Service
    module Provisioning
      class CheckProvisioned
        RETRY_INTERVAL = '1.minute'.freeze

        def initialize(handle = $evm)
          @handle = handle
        end

        def main
          task = @handle.root['service_template_provision_task']
          if task.nil?
            @handle.log(:error, 'service_template_provision_task object not provided')
            exit(MIQ_STOP)
          end

          case task.statemachine_task_status
          when 'ok'    then provisioned(task)
          when 'retry' then wait(task)
          else failed(task)
          end
        end

        private

        def provisioned(task)
          @handle.root['ae_result'] = 'ok'
          @handle.log(:info, "Service [#{task.destination.name}] provisioned")
        end

        def wait(task)
          @handle.root['ae_result'] = 'retry'
          @handle.root['ae_retry_interval'] = RETRY_INTERVAL
          @handle.log(:info, "Service [#{task.destination.name}] not provisioned yet: #{task.message}")
        end

        def failed(task)
          reason = task.message.to_s.sub(/\AError: /, '')
          @handle.root['ae_result'] = 'error'
          @handle.root['ae_reason'] = reason
          @handle.log(:error, "Service [#{task.destination.name}] provisioning failed: #{reason}")
          @handle.create_notification(:level => 'error', :subject => task.miq_request,
                                      :message => "Service Provision Error: #{reason}")
        end
      end
    end
  end
end

MyDomain::Service::Provisioning::CheckProvisioned.new.main
