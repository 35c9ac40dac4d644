// Random container names in Docker's adjective_noun style.
import { randomIndex } from './random';

const ADJECTIVES = (
  'admiring agile amazing blissful bold brave bright calm clever cool crisp curious daring dazzling eager ' +
  'elastic epic fervent festive focused friendly gallant gentle happy hardy hopeful jolly keen kind lucid ' +
  'merry modest nifty noble optimistic patient peaceful quiet quirky relaxed serene sharp shiny silly ' +
  'sleepy stoic sweet tender trusting upbeat vibrant vigilant wizardly youthful zealous'
).split(' ');
const NOUNS = (
  'albatross badger beaver bison cormorant crane dolphin eider falcon fulmar gannet grebe guillemot heron ' +
  'kittiwake lemming lynx marten narwhal orca otter osprey petrel plover puffin razorbill seal selkie ' +
  'shag skua sturgeon swift tern walrus whimbrel wren'
).split(' ');

export function randomName(): string {
  return `${ADJECTIVES[randomIndex(ADJECTIVES.length)]}_${NOUNS[randomIndex(NOUNS.length)]}`;
}

/**
 * Podman's (and Docker's) rule for the names of containers, volumes and
 * networks (libpod's NameRegex).  selkie also holds network aliases and
 * --hostname to it: they are written into other containers' /etc/hosts.
 */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const NAME_RULE = 'names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*';

export function validName(s: string): boolean {
  return NAME_PATTERN.test(s);
}
