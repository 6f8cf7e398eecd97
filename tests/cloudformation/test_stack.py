"""What CloudFormation makes of template.yaml: AWS's SAM translator turns it into plain
CloudFormation, moto's CloudFormation (moto_server over HTTP) creates the stack for several
parameter sets, and boto3 reads back the queues, the event source mapping, the role, the
function and the API. Resources moto does not model (API Gateway stage, API key, usage plan,
account setting, alarms, SNS subscription) and the template's Rules are checked in the
translated template, resolved for each parameter set.

Run: .venv/bin/python -B -m unittest discover -s tests/cloudformation (scripts/test.sh does).

The test's copy of the translated template differs from what a deployer uploads, for moto's
sake only (template.yaml is never changed for moto):
- CodeUri `.` becomes an S3 location holding a tiny dummy zip (what `sam package` does with
  the built function; the Rust binary is not built for this test).
- moto passes a String parameter's value into an integer property as a string (CloudFormation
  converts it) and then fails comparing it, e.g. the event source mapping's BatchSize. So the
  copy declares Number the parameters that only take whole numbers, and every parameter value
  is passed explicitly (moto converts a Number only when it is passed, not its Default).
  Parameters used as a Fn::FindInMap key stay String: moto resolves a Number's Ref to an
  integer, which then misses the mapping's string key.
- moto stores a queue's RedriveAllowPolicy but does not report it: the copy echoes the
  dead-letter queue's policy, as moto resolved it, in an extra output.
Reading moto's answers: moto returns a role's inline policy from CloudFormation as Python's
repr of the document, not JSON; an `!If [..., !Ref AWS::NoValue]` inside a list stays there as null
(the role's optional KMS statement) where CloudFormation drops it, and a Number parameter
shows as a number in the function's environment where Lambda has strings.
"""

import ast
import copy
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import unittest
import urllib.request
import zipfile
from pathlib import Path

import boto3
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:pinterest/access-token-AbCdEf"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OPS_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:ops-alarms"
CODE_BUCKET = "pinterest-destination-code"
CODE_KEY = "dummy.zip"
# Pinterest's limit per ad account, which the instances share.
ACCOUNT_CALLS_PER_MINUTE = 5000

# What a deployer gets without setting anything but the two required parameters.
DEFAULTS = {
    "ClickIdCookieName": "_epik",
    "TestMode": "false",
    "EventTable": "classic",
    "ConsentCategories": "",
    "SmartMapping": "",
    "TokenKmsKeyArn": "",
    "MaxEventAgeSeconds": "604800",
    "TokenTtlSeconds": "300",
    "MaxBodyBytes": "1048576",
    "MaxRequestsInFlight": "4",
    "SqsMaxConcurrency": "20",
    "BatchSize": "1000",
    "BatchingWindowSeconds": "5",
    "MaxReceiveCount": "5",
    "FunctionTimeout": "30",
    "FunctionMemorySize": "128",
    "ApiAuth": "ApiKey",
    "ApiStageName": "v1",
    "ApiRateLimit": "50",
    "ApiBurstLimit": "100",
    "ApiGatewayLogsRole": "Create",
    "LogLevel": "INFO",
    "LogRetentionDays": "30",
    "MetricsNamespace": "PinterestDestination",
    "AlarmEmail": "",
    "AlarmTopicArn": "",
    "QueueAgeAlarmSeconds": "900",
}

REQUIRED = {"AdAccountId": "549755885175", "TokenSecretArn": SECRET}

PARAMETER_SETS = {
    "defaults": {},
    # Everything optional switched on: IAM auth, a customer-managed key, both notification
    # targets, the current event table, a consent gate, large batches.
    "iam-kms-alarms-current": {
        "ApiAuth": "Iam",
        "TokenKmsKeyArn": KMS_KEY,
        "AlarmEmail": "ops@example.com",
        "AlarmTopicArn": OPS_TOPIC,
        "EventTable": "current",
        "ConsentCategories": "3,5",
        "SmartMapping": '{"event_names":{"newsletter_optin":"lead"}}',
        "TestMode": "true",
        "SqsMaxConcurrency": "50",
        "BatchSize": "1000",
        "BatchingWindowSeconds": "10",
        "MaxReceiveCount": "10",
        "FunctionTimeout": "60",
        "MaxRequestsInFlight": "8",
        "ApiGatewayLogsRole": "Existing",
        "LogRetentionDays": "90",
        "MetricsNamespace": "Ads/Pinterest",
        "ApiStageName": "prod",
    },
    # Small batches without a window, the fewest instances, the longest timeout.
    "small-batches": {
        "BatchSize": "10",
        "BatchingWindowSeconds": "0",
        "SqsMaxConcurrency": "2",
        "FunctionTimeout": "900",
        "FunctionMemorySize": "512",
        "MaxEventAgeSeconds": "86400",
        "TokenTtlSeconds": "60",
        "MaxBodyBytes": "262144",
        "AlarmTopicArn": OPS_TOPIC,
        "QueueAgeAlarmSeconds": "3600",
    },
}


def values_of(name):
    """The full parameter values of a set: required, defaults, then the set's own."""
    return {**REQUIRED, **DEFAULTS, **PARAMETER_SETS[name]}


# The translator warns, when it is garbage-collected, that nobody published its usage metrics.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)


def translate(parameter_values):
    """template.yaml through AWS's SAM translator, as CloudFormation's transform runs it."""
    template = yaml_parse((REPO / "template.yaml").read_text())
    function = template["Resources"]["PinterestDestinationFunction"]["Properties"]
    function["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"

    class NoManagedPolicies:
        def load(self):
            return {}

    return transform(template, parameter_values, NoManagedPolicies())


def find_in_map_keys(node, found):
    """Parameters used as a Fn::FindInMap key anywhere below node."""
    if isinstance(node, dict):
        for key in node.get("Fn::FindInMap", [])[1:]:
            if isinstance(key, dict) and "Ref" in key:
                found.add(key["Ref"])
        for value in node.values():
            find_in_map_keys(value, found)
    elif isinstance(node, list):
        for value in node:
            find_in_map_keys(value, found)
    return found


WHOLE_NUMBER_PATTERN = re.compile(r"\^\([0-9\[\]{},|-]+\)\$")


def moto_copy(translated):
    """The translated template with the moto work-arounds of the module's docstring."""
    template = copy.deepcopy(translated)
    map_keys = find_in_map_keys(template["Resources"], set())
    for name, parameter in template["Parameters"].items():
        allowed = parameter.get("AllowedValues")
        whole = (
            allowed is not None and all(re.fullmatch(r"[0-9]+", v) for v in allowed)
        ) or bool(WHOLE_NUMBER_PATTERN.fullmatch(parameter.get("AllowedPattern", "")))
        if whole and name not in map_keys:
            parameter["Type"] = "Number"
    template["Outputs"]["EchoDeadLetterRedriveAllowPolicy"] = {
        "Value": {
            "Fn::ToJsonString": template["Resources"]["EventsDeadLetterQueue"]["Properties"][
                "RedriveAllowPolicy"
            ]
        }
    }
    return template


class Resolved:
    """The translated template's values for one parameter set, for what moto does not
    create: conditions, Fn::If, Ref to parameters and AWS::NoValue are resolved; a Ref or
    Fn::GetAtt to a resource becomes the marker `<Id>` or `<Id.Attr>`."""

    NO_VALUE = object()

    def __init__(self, template, parameters):
        self.template = template
        self.parameters = {
            **parameters,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": "stack",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def condition(self, name):
        return self.truth(self.template["Conditions"][name])

    def truth(self, node):
        (function, args), = node.items()
        if function == "Fn::Equals":
            return self.value(args[0]) == self.value(args[1])
        if function == "Fn::Not":
            return not self.truth(args[0])
        if function == "Fn::And":
            return all(self.truth(a) for a in args)
        if function == "Fn::Or":
            return any(self.truth(a) for a in args)
        if function == "Fn::Contains":
            return self.value(args[1]) in self.value(args[0])
        if function == "Condition":
            return self.condition(args)
        raise AssertionError(f"unexpected condition function {function}")

    def value(self, node):
        if isinstance(node, list):
            return [v for v in map(self.value, node) if v is not self.NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (function, args), = node.items()
            if function == "Ref":
                if args == "AWS::NoValue":
                    return self.NO_VALUE
                return self.parameters.get(args, f"<{args}>")
            if function == "Fn::GetAtt":
                return f"<{args[0]}.{args[1]}>"
            if function == "Fn::If":
                return self.value(args[1] if self.condition(args[0]) else args[2])
            if function == "Fn::FindInMap":
                keys = [self.value(a) for a in args]
                return self.template["Mappings"][keys[0]][keys[1]][keys[2]]
            if function == "Fn::Sub":
                text, names = (args, {}) if isinstance(args, str) else args
                names = {k: self.value(v) for k, v in names.items()}

                def one(match):
                    name = match.group(1)
                    if name in names:
                        return str(names[name])
                    if "." in name:
                        return f"<{name}>"
                    return str(self.value({"Ref": name}))

                return re.sub(r"\$\{([^}!]+)\}", one, text)
        return {
            k: v
            for k, v in ((k, self.value(v)) for k, v in node.items())
            if v is not self.NO_VALUE
        }

    def resource(self, logical_id):
        """The resource's properties, or None when its condition leaves it out."""
        resource = self.template["Resources"][logical_id]
        if "Condition" in resource and not self.condition(resource["Condition"]):
            return None
        return self.value(resource.get("Properties", {}))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    port = free_port()
    log = open(REPO / "target" / "moto-cloudformation.log", "w")
    server = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return server, url, log
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                log.close()
                raise RuntimeError("moto_server did not start; see target/moto-cloudformation.log")
            time.sleep(0.1)


MOTO = None
STACKS = {}


def setUpModule():
    global MOTO
    os.environ.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    (REPO / "target").mkdir(exist_ok=True)
    MOTO = start_moto()
    try:
        s3 = client("s3")
        s3.create_bucket(Bucket=CODE_BUCKET)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n")
        s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=archive.getvalue())
        cloudformation = client("cloudformation")
        for name in PARAMETER_SETS:
            values = values_of(name)
            translated = translate(values)
            stack_name = f"pd-{name}"
            cloudformation.create_stack(
                StackName=stack_name,
                TemplateBody=json.dumps(moto_copy(translated)),
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
                Capabilities=["CAPABILITY_IAM"],
            )
            stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
            if stack["StackStatus"] != "CREATE_COMPLETE":
                raise AssertionError(f"{stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason')}")
            physical = {
                r["LogicalResourceId"]: r.get("PhysicalResourceId")
                for r in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
                if "LogicalResourceId" in r
            }
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
            STACKS[name] = {
                "values": values,
                "translated": translated,
                "resolved": Resolved(translated, values),
                "physical": physical,
                "outputs": outputs,
            }
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    if MOTO:
        server, _, log = MOTO
        server.terminate()
        server.wait(timeout=10)
        log.close()


def client(service):
    return boto3.client(service, endpoint_url=MOTO[1], region_name=REGION)


def queue_attributes(url):
    return client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


class StackTest(unittest.TestCase):
    def test_queue_redrives_to_the_dead_letter_queue(self):
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                values, physical = stack["values"], stack["physical"]
                queue = queue_attributes(physical["EventsQueue"])
                dlq = queue_attributes(physical["EventsDeadLetterQueue"])
                redrive = json.loads(queue["RedrivePolicy"])
                self.assertEqual(redrive["deadLetterTargetArn"], dlq["QueueArn"])
                self.assertEqual(int(redrive["maxReceiveCount"]), int(values["MaxReceiveCount"]))
                self.assertEqual(queue["SqsManagedSseEnabled"], "true")
                self.assertEqual(queue["MessageRetentionPeriod"], "345600")
                # Six function timeouts plus the longest batching window.
                self.assertEqual(int(queue["VisibilityTimeout"]), 6 * int(values["FunctionTimeout"]) + 30)
                self.assertEqual(dlq["SqsManagedSseEnabled"], "true")
                self.assertEqual(dlq["MessageRetentionPeriod"], "1209600")
                # Only the events queue may use the dead-letter queue.
                allow = json.loads(stack["outputs"]["EchoDeadLetterRedriveAllowPolicy"])
                self.assertEqual(allow, {"redrivePermission": "byQueue", "sourceQueueArns": [queue["QueueArn"]]})

    def test_rejected_queue_is_encrypted_kept_14_days_and_no_dead_letter_target(self):
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                rejected = queue_attributes(stack["physical"]["EventsRejectedQueue"])
                self.assertEqual(rejected["SqsManagedSseEnabled"], "true")
                self.assertEqual(rejected["MessageRetentionPeriod"], "1209600")
                self.assertEqual(rejected["VisibilityTimeout"], "300")
                self.assertNotIn("RedrivePolicy", rejected)
                properties = stack["resolved"].resource("EventsRejectedQueue")
                self.assertEqual(properties["RedriveAllowPolicy"], {"redrivePermission": "denyAll"})

    def test_queues_outlive_the_stack(self):
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                for queue in ["EventsQueue", "EventsDeadLetterQueue", "EventsRejectedQueue"]:
                    resource = stack["translated"]["Resources"][queue]
                    self.assertEqual(resource.get("DeletionPolicy"), "Retain", queue)
                    self.assertEqual(resource.get("UpdateReplacePolicy"), "Retain", queue)

    def test_event_source_mapping(self):
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                values, physical = stack["values"], stack["physical"]
                lam = client("lambda")
                function = lam.get_function_configuration(FunctionName=physical["PinterestDestinationFunction"])
                mappings = lam.list_event_source_mappings(FunctionName=function["FunctionName"])["EventSourceMappings"]
                self.assertEqual(len(mappings), 1)
                mapping = mappings[0]
                self.assertEqual(mapping["EventSourceArn"], queue_attributes(physical["EventsQueue"])["QueueArn"])
                self.assertEqual(mapping["FunctionArn"], function["FunctionArn"])
                self.assertIn("ReportBatchItemFailures", mapping["FunctionResponseTypes"])
                self.assertEqual(mapping["BatchSize"], int(values["BatchSize"]))
                self.assertEqual(int(mapping["MaximumBatchingWindowInSeconds"]), int(values["BatchingWindowSeconds"]))
                self.assertEqual(int(mapping["ScalingConfig"]["MaximumConcurrency"]), int(values["SqsMaxConcurrency"]))

    def test_function_environment_holds_every_setting(self):
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                values, physical = stack["values"], stack["physical"]
                function = client("lambda").get_function_configuration(FunctionName=physical["PinterestDestinationFunction"])
                concurrency = int(values["SqsMaxConcurrency"])
                expected = {
                    "PINTEREST_AD_ACCOUNT_ID": values["AdAccountId"],
                    "PINTEREST_TOKEN_SECRET_ID": SECRET,
                    "PINTEREST_CLICK_ID_COOKIE": values["ClickIdCookieName"],
                    "PINTEREST_TEST_MODE": values["TestMode"],
                    "PINTEREST_EVENT_TABLE": values["EventTable"],
                    "PINTEREST_MAX_EVENT_AGE_SECS": values["MaxEventAgeSeconds"],
                    "PINTEREST_TOKEN_TTL_SECS": values["TokenTtlSeconds"],
                    "PINTEREST_MAX_CONCURRENCY": values["MaxRequestsInFlight"],
                    "PINTEREST_MAX_BODY_BYTES": values["MaxBodyBytes"],
                    "PINTEREST_METRICS_NAMESPACE": values["MetricsNamespace"],
                    "PINTEREST_REJECTED_QUEUE_URL": physical["EventsRejectedQueue"],
                    # The instances together stay under the ad account's limit.
                    "PINTEREST_CALLS_PER_MINUTE": str(ACCOUNT_CALLS_PER_MINUTE // concurrency),
                }
                if values["ConsentCategories"]:
                    expected["PINTEREST_CONSENT_CATEGORIES"] = values["ConsentCategories"]
                if values["SmartMapping"]:
                    expected["PINTEREST_MAPPING"] = values["SmartMapping"]
                # moto shows a Number parameter as a number; Lambda's variables are strings.
                environment = {k: str(v) for k, v in function["Environment"]["Variables"].items()}
                self.assertEqual(environment, expected)
                self.assertLessEqual(concurrency * int(environment["PINTEREST_CALLS_PER_MINUTE"]), ACCOUNT_CALLS_PER_MINUTE)
                self.assertEqual(function["Runtime"], "provided.al2023")
                self.assertEqual(function["Handler"], "bootstrap")
                # moto does not keep the architecture: the translated template says it.
                function_properties = stack["resolved"].resource("PinterestDestinationFunction")
                self.assertEqual(function_properties["Architectures"], ["arm64"])
                self.assertEqual(int(function["Timeout"]), int(values["FunctionTimeout"]))
                self.assertEqual(int(function["MemorySize"]), int(values["FunctionMemorySize"]))
                self.assertEqual(function["Role"].rsplit("/", 1)[1], physical["FunctionRole"])

    def test_role_names_each_resource(self):
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                values, physical = stack["values"], stack["physical"]
                iam = client("iam")
                role = iam.get_role(RoleName=physical["FunctionRole"])["Role"]
                trust = role["AssumeRolePolicyDocument"]["Statement"]
                self.assertEqual(
                    trust, [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
                )
                self.assertEqual(iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"], [])
                names = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
                self.assertEqual(names, ["pinterest-destination"])
                document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=names[0])["PolicyDocument"]
                # moto keeps a role's inline policy from CloudFormation as Python's repr of the document.
                document = ast.literal_eval(document)
                # moto leaves an `!If [..., !Ref AWS::NoValue]` in the list as null; CloudFormation drops it.
                statements = [s for s in document["Statement"] if s is not None]
                logs = client("logs").describe_log_groups(logGroupNamePrefix=physical["FunctionLogGroup"])["logGroups"]
                granted = {}
                for statement in statements:
                    self.assertEqual(statement["Effect"], "Allow")
                    resource = statement["Resource"]
                    self.assertIsInstance(resource, str, "one resource per statement")
                    self.assertNotIn("*", resource)
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    self.assertTrue(all("*" not in a for a in actions), actions)
                    granted[resource] = (sorted(actions), statement.get("Condition"))
                expected = {
                    logs[0]["arn"].removesuffix(":*"): (["logs:CreateLogStream", "logs:PutLogEvents"], None),
                    queue_attributes(physical["EventsQueue"])["QueueArn"]: (
                        ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                        None,
                    ),
                    queue_attributes(physical["EventsRejectedQueue"])["QueueArn"]: (["sqs:SendMessage"], None),
                    SECRET: (["secretsmanager:GetSecretValue"], None),
                }
                if values["TokenKmsKeyArn"]:
                    expected[KMS_KEY] = (
                        ["kms:Decrypt"],
                        {
                            "StringEquals": {
                                "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
                                "kms:EncryptionContext:SecretARN": SECRET,
                            }
                        },
                    )
                self.assertEqual(granted, expected)
                self.assertEqual(logs[0]["retentionInDays"], int(values["LogRetentionDays"]))

    def test_api_routes_events_to_the_function_with_the_chosen_auth(self):
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                values, physical = stack["values"], stack["physical"]
                api = physical["EventsApi"]
                resources = client("apigateway").get_resources(restApiId=api)["items"]
                routes = {r["path"]: r for r in resources}
                self.assertEqual(sorted(routes), ["/", "/events"])
                method = routes["/events"]["resourceMethods"]["ANY"]
                iam = values["ApiAuth"] == "Iam"
                self.assertEqual(method["authorizationType"], "AWS_IAM" if iam else "NONE")
                self.assertEqual(method["apiKeyRequired"], not iam)
                function = client("lambda").get_function_configuration(FunctionName=physical["PinterestDestinationFunction"])
                integration = method["methodIntegration"]
                self.assertEqual(integration["type"], "AWS_PROXY")
                self.assertEqual(integration["httpMethod"], "POST")
                self.assertIn(f"/functions/{function['FunctionArn']}/invocations", integration["uri"])
                policy = json.loads(client("lambda").get_policy(FunctionName=function["FunctionName"])["Policy"])
                (permission,) = policy["Statement"]
                self.assertEqual(permission["Principal"], {"Service": "apigateway.amazonaws.com"})
                self.assertEqual(
                    permission["Condition"]["ArnLike"]["AWS:SourceArn"],
                    f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{values['ApiStageName']}/*/events",
                )

    # What moto does not model: checked in the translated template, resolved per parameter set.

    def test_stage_logs_access_as_json_and_throttles(self):
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                values, resolved = stack["values"], stack["resolved"]
                stage = resolved.resource("EventsApiStage")
                iam = values["ApiAuth"] == "Iam"
                self.assertEqual(stage["StageName"], values["ApiStageName"])
                self.assertEqual(stage["DeploymentId"], "<EventsApiDeploymentIam>" if iam else "<EventsApiDeploymentApiKey>")
                self.assertIsNotNone(resolved.resource(stage["DeploymentId"].strip("<>")))
                log = stage["AccessLogSetting"]
                self.assertEqual(log["DestinationArn"], "<ApiAccessLogGroup.Arn>")
                fields = json.loads(log["Format"])
                self.assertEqual(fields["requestId"], "$context.requestId")
                self.assertEqual(fields["status"], "$context.status")
                self.assertTrue(all(v.startswith("$context.") for v in fields.values()))
                self.assertEqual(resolved.resource("ApiAccessLogGroup")["RetentionInDays"], values["LogRetentionDays"])
                (settings,) = stage["MethodSettings"]
                self.assertEqual((settings["ResourcePath"], settings["HttpMethod"]), ("/*", "*"))
                self.assertEqual(settings["ThrottlingRateLimit"], values["ApiRateLimit"])
                self.assertEqual(settings["ThrottlingBurstLimit"], values["ApiBurstLimit"])
                self.assertEqual(settings["DataTraceEnabled"], False, "no request bodies in API Gateway's logs")
                # The account's logging role is set before the stage when the stack creates it.
                creates_role = values["ApiGatewayLogsRole"] == "Create"
                self.assertEqual("<ApiGatewayAccount>" in stage["Description"], creates_role)
                self.assertEqual(resolved.resource("ApiGatewayAccount") is not None, creates_role)

    def test_api_key_and_usage_plan_only_with_api_key_auth(self):
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                values, resolved = stack["values"], stack["resolved"]
                api_key = values["ApiAuth"] == "ApiKey"
                for resource in ["EventsApiKey", "EventsApiUsagePlan", "EventsApiUsagePlanKey"]:
                    self.assertEqual(resolved.resource(resource) is not None, api_key, resource)
                output = stack["translated"]["Outputs"]["ApiKeyId"]
                self.assertEqual(resolved.condition(output["Condition"]), api_key)
                self.assertEqual(output["Value"], {"Ref": "EventsApiKey"})
                if api_key:
                    plan = resolved.resource("EventsApiUsagePlan")
                    self.assertEqual(plan["ApiStages"], [{"ApiId": "<EventsApi>", "Stage": "<EventsApiStage>"}])
                    self.assertEqual(plan["Throttle"], {"RateLimit": values["ApiRateLimit"], "BurstLimit": values["ApiBurstLimit"]})
                    key = resolved.resource("EventsApiUsagePlanKey")
                    self.assertEqual(key, {"KeyId": "<EventsApiKey>", "KeyType": "API_KEY", "UsagePlanId": "<EventsApiUsagePlan>"})

    def test_alarms_watch_what_matters_and_notify_whichever_target_is_set(self):
        expected = {
            # alarm: (namespace, metric, dimensions, threshold, periods to alarm)
            "DeadLetterQueueAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "<EventsDeadLetterQueue.QueueName>"}, 0, 1),
            "RejectedQueueAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "<EventsRejectedQueue.QueueName>"}, 0, 1),
            "QueueBacklogAlarm": ("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "<EventsQueue.QueueName>"}, None, 3),
            "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", {"FunctionName": "<PinterestDestinationFunction>"}, 0, 1),
            "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", {"FunctionName": "<PinterestDestinationFunction>"}, 0, 1),
            "ApiServerErrorsAlarm": ("AWS/ApiGateway", "5XXError", {"ApiName": "stack-events", "Stage": "<EventsApiStage>"}, 0, 1),
        }
        for name, stack in STACKS.items():
            with self.subTest(parameters=name):
                values, resolved = stack["values"], stack["resolved"]
                alarms = {
                    k: resolved.resource(k)
                    for k, r in stack["translated"]["Resources"].items()
                    if r["Type"] == "AWS::CloudWatch::Alarm"
                }
                self.assertEqual(
                    set(alarms), set(expected) | {"AuthFailuresAlarm", "ApiEventsNotDeliveredAlarm"}
                )
                targets = [t for t in ["<AlarmEmailTopic>" if values["AlarmEmail"] else "", values["AlarmTopicArn"]] if t]
                self.assertEqual(resolved.resource("AlarmEmailTopic") is not None, bool(values["AlarmEmail"]))
                if values["AlarmEmail"]:
                    subscription = resolved.resource("AlarmEmailSubscription")
                    self.assertEqual(subscription, {"TopicArn": "<AlarmEmailTopic>", "Protocol": "email", "Endpoint": values["AlarmEmail"]})
                for name, alarm in alarms.items():
                    self.assertEqual(alarm["AlarmActions"], targets, name)
                    self.assertEqual(alarm["OKActions"], targets, name)
                    self.assertEqual(alarm["ComparisonOperator"], "GreaterThanThreshold", name)
                    self.assertEqual(alarm["TreatMissingData"], "notBreaching", name)
                # The API's name in the metric's dimension is the API's.
                self.assertEqual(resolved.resource("EventsApi")["Name"], "stack-events")
                for name, (namespace, metric, dimensions, threshold, periods) in expected.items():
                    alarm = alarms[name]
                    self.assertEqual((alarm["Namespace"], alarm["MetricName"]), (namespace, metric), name)
                    self.assertEqual({d["Name"]: d["Value"] for d in alarm["Dimensions"]}, dimensions, name)
                    self.assertEqual(alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"]), periods, name)
                    self.assertEqual(alarm["EvaluationPeriods"], periods, name)
                    self.assertEqual(alarm["Period"], 300, name)
                    if threshold is not None:
                        self.assertEqual(alarm["Threshold"], threshold, name)
                self.assertEqual(alarms["QueueBacklogAlarm"]["Threshold"], values["QueueAgeAlarmSeconds"])
                auth = alarms["AuthFailuresAlarm"]
                watched = {
                    q["Id"]: q["MetricStat"]["Metric"] for q in auth["Metrics"] if "MetricStat" in q
                }
                self.assertEqual(
                    sorted((m["Namespace"], m["MetricName"], m["Dimensions"][0]["Value"]) for m in watched.values()),
                    [(values["MetricsNamespace"], "AuthFailures", "rest_api"), (values["MetricsNamespace"], "AuthFailures", "sqs")],
                )
                (expression,) = [q["Expression"] for q in auth["Metrics"] if "Expression" in q]
                self.assertEqual(expression, " + ".join(f"FILL({i}, 0)" for i in watched))
                self.assertEqual((auth["EvaluationPeriods"], auth["DatapointsToAlarm"], auth["Threshold"]), (3, 3, 0))

    def test_rule_refuses_large_batches_without_a_window(self):
        # CloudFormation checks Rules before creating anything; moto does not, so the test
        # evaluates the template's rule for its own sets and for the refused combination.
        translated = STACKS["defaults"]["translated"]
        (rule,) = translated["Rules"].values()

        def allowed(values):
            resolved = Resolved(translated, values)
            if not resolved.truth(rule["RuleCondition"]):
                return True
            return all(resolved.truth(a["Assert"]) for a in rule["Assertions"])

        for name in PARAMETER_SETS:
            with self.subTest(parameters=name):
                self.assertTrue(allowed(values_of(name)))
        for batch, window, ok in [("11", "0", False), ("100", "0", False), ("10", "0", True), ("11", "1", True)]:
            values = {**values_of("defaults"), "BatchSize": batch, "BatchingWindowSeconds": window}
            self.assertEqual(allowed(values), ok, (batch, window))


if __name__ == "__main__":
    unittest.main()
