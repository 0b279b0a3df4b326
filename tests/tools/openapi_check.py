#!/usr/bin/python3
"""openapi_check.py - checks recorded REST answers against pxtsgw's OpenAPI
document (openapi/device-reachability-status.yaml, or the one the gateway
serves), with Debian's python3-yaml and python3-jsonschema.

  openapi_check.py --doc FILE answer METHOD PATH STATUS BODYFILE [--ctype CT]
      One answer: the document must list STATUS for METHOD PATH (a path
      template such as /subscriptions/{subscriptionId} matches any one
      segment); a body must be of a listed media type and valid against its
      schema, a status without content must come with an empty body.
  openapi_check.py --doc FILE answers RECORDS.jsonl
      Every line a record {"method","path","status","body","ctype"}: checks
      each as above and prints "ok METHOD PATH STATUS" or "FAIL ...: why".
  openapi_check.py --doc FILE schema NAME JSONFILE
      JSONFILE (a JSON document, e.g. a CloudEvent a sink received) against
      components/schemas/NAME.

Exit status: 0 when everything is valid, 1 when something is not, 2 on a
usage or document error. Schemas are read as JSON Schema draft 4 (what an
OpenAPI 3.0 schema object is closest to; its own keywords such as example
and discriminator are ignored); formats date-time, uri, ipv4 and ipv6 are
checked.
"""
import argparse
import ipaddress
import json
import re
import sys
import urllib.parse

import jsonschema
import yaml

DATE_TIME = re.compile(r'^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$')

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks('date-time')
def _date_time(v):
    if not isinstance(v, str):
        return True
    if not DATE_TIME.match(v):
        return False
    mo, d, h, mi, s = int(v[5:7]), int(v[8:10]), int(v[11:13]), int(v[14:16]), int(v[17:19])
    return 1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60


@FORMATS.checks('uri')
def _uri(v):
    if not isinstance(v, str):
        return True
    u = urllib.parse.urlsplit(v)
    return bool(u.scheme) and not any(c in v for c in ' <>"')


@FORMATS.checks('ipv4')
def _ipv4(v):
    try:
        return not isinstance(v, str) or isinstance(ipaddress.ip_address(v), ipaddress.IPv4Address)
    except ValueError:
        return False


@FORMATS.checks('ipv6')
def _ipv6(v):
    try:
        return not isinstance(v, str) or isinstance(ipaddress.ip_address(v), ipaddress.IPv6Address)
    except ValueError:
        return False


class Doc:
    def __init__(self, path):
        with open(path, encoding='utf-8') as f:
            self.doc = yaml.safe_load(f)
        if not isinstance(self.doc, dict) or not str(self.doc.get('openapi', '')).startswith('3.'):
            raise ValueError('%s: not an OpenAPI 3 document' % path)
        self.resolver = jsonschema.RefResolver('', self.doc)

    def deref(self, obj):
        while isinstance(obj, dict) and '$ref' in obj:
            ref = obj['$ref']
            if not ref.startswith('#/'):
                raise ValueError('external $ref %s' % ref)
            obj = self.doc
            for part in ref[2:].split('/'):
                obj = obj[part.replace('~1', '/').replace('~0', '~')]
        return obj

    def validate(self, schema, instance):
        """The list of error messages (empty: valid)."""
        v = jsonschema.Draft4Validator(schema, resolver=self.resolver, format_checker=FORMATS)
        return ['%s: %s' % ('/'.join(str(p) for p in e.absolute_path) or '(top)', e.message)
                for e in sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))]

    def operation(self, method, path):
        path = path.split('?', 1)[0]
        for tmpl, item in self.doc.get('paths', {}).items():
            rx = '^' + re.sub(r'\\\{[^}]+\\\}', '[^/]+', re.escape(tmpl)) + '$'
            if re.match(rx, path):
                op = item.get(method.lower())
                if op is None:
                    return None, '%s is not documented for %s' % (method, tmpl)
                return op, None
        return None, 'no path of the document matches %s' % path

    def check_answer(self, method, path, status, body, ctype):
        """The list of problems of one answer (empty: valid)."""
        op, why = self.operation(method, path)
        if op is None:
            return [why]
        responses = op.get('responses', {})
        resp = responses.get(str(status), responses.get('default'))
        if resp is None:
            return ['status %s is not documented for %s %s' % (status, method, path)]
        resp = self.deref(resp)
        content = resp.get('content')
        if not content:
            return [] if body == '' else ['status %s has no content, but a body came' % status]
        media = (ctype or '').split(';')[0].strip().lower()
        if media not in content:
            return ['media type %r is not among %s' % (media, sorted(content))]
        schema = content[media].get('schema', {})
        if media.endswith('json'):
            try:
                instance = json.loads(body)
            except ValueError as e:
                return ['the body is not JSON: %s' % e]
        else:
            instance = body
        return self.validate(schema, instance)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--doc', required=True, help='the OpenAPI document (YAML)')
    sub = ap.add_subparsers(dest='cmd', required=True)
    a = sub.add_parser('answer')
    a.add_argument('method')
    a.add_argument('path')
    a.add_argument('status', type=int)
    a.add_argument('bodyfile')
    a.add_argument('--ctype', default='application/json')
    b = sub.add_parser('answers')
    b.add_argument('records')
    s = sub.add_parser('schema')
    s.add_argument('name')
    s.add_argument('jsonfile')
    args = ap.parse_args()
    try:
        doc = Doc(args.doc)
    except (OSError, ValueError, yaml.YAMLError) as e:
        print('openapi_check: %s' % e, file=sys.stderr)
        return 2
    bad = 0
    if args.cmd == 'answer':
        with open(args.bodyfile, encoding='utf-8') as f:
            body = f.read()
        problems = doc.check_answer(args.method, args.path, args.status, body, args.ctype)
        for p in problems:
            print('FAIL %s %s %s: %s' % (args.method, args.path, args.status, p))
        bad = len(problems)
    elif args.cmd == 'answers':
        with open(args.records, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                r = json.loads(line)
                problems = doc.check_answer(r['method'], r['path'], r['status'], r.get('body', ''),
                                            r.get('ctype'))
                what = '%s %s %s' % (r['method'], r['path'], r['status'])
                if problems:
                    bad += 1
                    for p in problems:
                        print('FAIL %s (record %d): %s' % (what, n, p))
                else:
                    print('ok %s' % what)
    else:
        schema = doc.doc.get('components', {}).get('schemas', {}).get(args.name)
        if schema is None:
            print('openapi_check: no schema %s' % args.name, file=sys.stderr)
            return 2
        with open(args.jsonfile, encoding='utf-8') as f:
            instance = json.load(f)
        problems = doc.validate(schema, instance)
        for p in problems:
            print('FAIL %s: %s' % (args.name, p))
        bad = len(problems)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
