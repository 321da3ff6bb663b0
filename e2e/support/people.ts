// The organisation tree and the people the specs share: a region with a
// municipality of two schools and a neighbouring municipality with one,
// a school team member, the municipal coordinator and a curator. A spec
// that needs someone else adds them beside these.
import type { OrgUnit } from './server';

export const UNITS: OrgUnit[] = [
  { id: 'r1', parent: 'rf', level: 'region', name: 'Каменская область' },
  { id: 'm1', parent: 'r1', level: 'municipality', name: 'Каменский район' },
  { id: 's1', parent: 'm1', level: 'school', name: 'Школа № 1' },
  { id: 's2', parent: 'm1', level: 'school', name: 'Школа № 2' },
  { id: 'm2', parent: 'r1', level: 'municipality', name: 'Соседний район' },
  { id: 's3', parent: 'm2', level: 'school', name: 'Школа № 3' },
];

/** A member of school 1's team. */
export const TEAM = { login: 'team', password: 'team-secret-1', role: 'school-team', unit: 's1', name: 'Учитель Первый' };

/** The coordinator of Каменский район (schools 1 and 2). */
export const MUNI = {
  login: 'muni',
  password: 'muni-secret-1',
  role: 'municipal-coordinator',
  unit: 'm1',
  name: 'Координатор Петрова',
};

/** School 1's curator. */
export const CURATOR = {
  login: 'curator',
  password: 'curator-secret',
  role: 'curator',
  unit: 'm1',
  schools: ['s1'],
  name: 'Петров Пётр Петрович',
};
