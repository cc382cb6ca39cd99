import { answersChanged } from './conf-changes';
import { interpretNamedConf } from './read';

const conf = (text: string) => interpretNamedConf(text, '/etc/bind/named.conf', () => '');
const OPTIONS = 'options { directory "/var/cache/bind"; recursion no; };\n';
const zone = (name: string, file = `${name}.db`) => `zone "${name}" { type primary; file "${file}"; };\n`;

describe('which answers an edit of named.conf can change', () => {
  const base = conf(OPTIONS + zone('example.test') + zone('other.test'));

  it('nothing, when only positions moved (a comment, blank lines)', () => {
    expect(answersChanged(base, conf(`// a comment\n\n${OPTIONS}\n${zone('example.test')}\n\n${zone('other.test')}`))).toEqual({ everything: false, zones: [] });
  });

  it('a zone added above a cached one takes its DS answer: the zone below goes too', () => {
    expect(answersChanged(conf(OPTIONS + zone('sub.example.test')), conf(OPTIONS + zone('sub.example.test') + zone('example.test')))).toEqual({ everything: false, zones: ['example.test', 'sub.example.test'] });
    expect(answersChanged(conf(OPTIONS + zone('sub.example.test') + zone('example.test')), conf(OPTIONS + zone('sub.example.test')))).toEqual({ everything: false, zones: ['example.test', 'sub.example.test'] });
  });

  it('an added zone, and the zones above it', () => {
    expect(answersChanged(base, conf(OPTIONS + zone('example.test') + zone('other.test') + zone('new.test')))).toEqual({ everything: false, zones: ['new.test'] });
    expect(answersChanged(base, conf(OPTIONS + zone('example.test') + zone('sub.example.test') + zone('other.test')))).toEqual({ everything: false, zones: ['example.test', 'sub.example.test'] });
  });

  it('a removed zone, and a zone whose statement changed', () => {
    expect(answersChanged(base, conf(OPTIONS + zone('example.test')))).toEqual({ everything: false, zones: ['other.test'] });
    expect(answersChanged(base, conf(OPTIONS + zone('example.test', 'elsewhere.db') + zone('other.test')))).toEqual({ everything: false, zones: ['example.test'] });
  });

  it('everything, when anything but zone statements changed', () => {
    const options = conf('options { directory "/var/cache/bind"; recursion no; minimal-responses yes; };\n' + zone('example.test') + zone('other.test'));
    expect(answersChanged(base, options)).toMatchObject({ everything: true });
    expect(answersChanged(base, conf(OPTIONS + 'acl x { 10/8; };\n' + zone('example.test') + zone('other.test')))).toMatchObject({ everything: true });
  });

  it('zones in views: a zone moved to another view is removed from one and added to the other', () => {
    const views = (a: string, b: string) => conf(`${OPTIONS}view "a" { match-clients { any; }; ${a} };\nview "b" { ${b} };\n`);
    expect(answersChanged(views(zone('example.test'), ''), views(zone('example.test'), zone('new.test')))).toEqual({ everything: false, zones: ['new.test'] });
    expect(answersChanged(views(zone('example.test'), ''), views('', zone('example.test')))).toEqual({ everything: false, zones: ['example.test'] });
    // A view's own statements are part of the layout.
    expect(answersChanged(views(zone('example.test'), ''), conf(`${OPTIONS}view "a" { match-clients { 10/8; }; ${zone('example.test')} };\nview "b" { };\n`))).toMatchObject({ everything: true });
  });
});
